"""What the dumper's use cases need from the outside: tools, servers, the broker."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

from services.dumper.connection_test import ConnectionReport
from services.dumper.pipeline import BlockSource
from services.dumper.stderr import StderrTail
from services.dumper.tools import DumpPlan
from shared.events import Event
from shared.specs import ConnectionSpec

Publish = Callable[[Event], Awaitable[None]]


class RunningTool(BlockSource, Protocol):
    """A started dump tool."""

    stderr: StderrTail

    async def wait(self) -> int:
        """Its exit code."""

    def close(self) -> None:
        """Kill if running and release its pipes."""


Launch = Callable[[Sequence[str], Mapping[str, str]], RunningTool]


class Gateway(Protocol):
    """Database servers as the dumper sees them."""

    def plan(self, spec: ConnectionSpec, database: str) -> AbstractAsyncContextManager[DumpPlan]:
        """A ready-to-run dump of `database`."""

    async def databases(self, spec: ConnectionSpec) -> list[str]:
        """User databases on the server."""

    async def test_connection(self, spec: ConnectionSpec, database: str | None) -> ConnectionReport:
        """Every connection check in order (services.dumper.checks), and the archiving
        verdict (services.dumper.readiness)."""


class SizeMemory(Protocol):
    """Each database's last dump size, so its next backup sizes its parts by it."""

    async def last(self, server_id: UUID, database: str) -> int | None: ...

    async def remember(self, server_id: UUID, database: str, size: int) -> None: ...
