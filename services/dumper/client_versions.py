"""Which client versions have which guard against commands in a dump: pure decisions."""

import re

from services.dumper.tools import Tool

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


PSQL_RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
"""The first minor of each major whose psql has `\\restrict` (all of 18 and later do)."""
MARIADB_SANDBOX_SINCE = {(10, 5): 25, (10, 6): 18, (10, 11): 8, (11, 0): 6, (11, 1): 5, (11, 2): 4}
"""The first patch release of each MariaDB series whose client has `--sandbox`; every
series after 11.2 but 11.3 has it from its first release on (11.4.2 being the first 11.4)."""
_MARIADB_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)-MariaDB")


def psql_can_restrict(tool: Tool) -> bool:
    """Whether this psql knows `\\restrict`, which turns every other backslash command off."""
    found = _VERSION.search(tool.version.split(")", 1)[-1])
    if found is None:
        return False
    major, minor = int(found.group(1)), int(found.group(2) or 0)
    if major >= 18:
        return True
    return major in PSQL_RESTRICT_SINCE and minor >= PSQL_RESTRICT_SINCE[major]


def psql_counts_begin_blocks(tool: Tool) -> bool:
    """psql 14 and later keep `;` inside a function's BEGIN ATOMIC ... END in one statement."""
    return (tool.major or 0) >= 14


def mysql_has_sandbox(tool: Tool) -> bool:
    """Whether this mysql/mariadb client has MariaDB's `--sandbox` (MySQL's has not)."""
    found = _MARIADB_VERSION.search(tool.version)
    if found is None:
        return False
    major, minor, patch = (int(part) for part in found.groups())
    if (major, minor) in MARIADB_SANDBOX_SINCE:
        return patch >= MARIADB_SANDBOX_SINCE[major, minor]
    if (major, minor) == (11, 4):
        return patch >= 2
    return (major, minor) > (11, 4)


def mysql_restore_flags(tool: Tool) -> list[str]:
    """Client flags that keep dump input from running client commands: `--binary-mode`
    turns off every `\\` command but `\\C` and sends `system`, `source` ... to the server as
    SQL; MariaDB's `--sandbox` also refuses any command that touches files or a shell."""
    return ["--binary-mode", *(["--sandbox"] if mysql_has_sandbox(tool) else [])]
