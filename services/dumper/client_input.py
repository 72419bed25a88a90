"""Which filter a restore's input passes on its way to the client tool, and its settings."""

import secrets
from typing import Protocol

from services.dumper.client_versions import psql_can_restrict, psql_counts_begin_blocks
from services.dumper.mysql_guard import MysqlInputGuard
from services.dumper.psql_guard import PsqlInputGuard
from services.dumper.tools import Tool
from shared.events import ServerType

__all__ = ["InputGuard", "input_guard"]


class InputGuard(Protocol):
    """Takes the dump piece by piece; returns what may reach the client, or raises
    RefusedInputError (a sentence) before any byte of an offending piece is passed on."""

    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


def input_guard(server_type: ServerType, tool: Tool) -> InputGuard:
    """psql: the lexing filter, and a fresh `\\restrict` key of our own where psql has the
    command (a dump cannot `\\unrestrict` a key it never saw); mysql: the string filter."""
    if server_type != "postgresql":
        return MysqlInputGuard()
    key = secrets.token_hex(32) if psql_can_restrict(tool) else None
    return PsqlInputGuard(restrict_key=key, begin_blocks=psql_counts_begin_blocks(tool))
