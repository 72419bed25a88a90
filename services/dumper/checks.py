"""The connection test's checks and the privilege arithmetic behind them. Pure.

Checks run in order: reachable, authenticated, server_version, privileges, dump_tool. Once
one fails, the rest are reported failed with "not checked: <that one> failed".
"""

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

CheckName = Literal["reachable", "authenticated", "server_version", "privileges", "dump_tool"]
CHECK_ORDER: tuple[CheckName, ...] = (
    "reachable",
    "authenticated",
    "server_version",
    "privileges",
    "dump_tool",
)
MYSQL_DB_PRIVILEGES = ("SELECT", "SHOW VIEW", "TRIGGER", "EVENT", "LOCK TABLES")
"""Needed on every dumped database (or globally): data, views, triggers, events, locks."""
MYSQL_GLOBAL_PRIVILEGES = ("PROCESS",)
"""Needed on *.* (tablespace information)."""
MAX_NAMED = 20
"""Missing objects named in a detail; beyond this, the rest are counted."""

_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    """One check's outcome, in a sentence."""

    check: CheckName
    ok: bool
    detail: str

    def public(self) -> dict[str, object]:
        return asdict(self)


class CheckList:
    """Collects checks in order; after a failure, every later check is 'not checked'."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    @property
    def failed(self) -> CheckName | None:
        return next((c.check for c in self.checks if not c.ok), None)

    def add(self, check: CheckName, detail: str, *, ok: bool) -> bool:
        """Record one outcome; returns whether it passed."""
        self.checks.append(Check(check, ok, detail))
        return ok

    def passed(self, check: CheckName, detail: str) -> None:
        self.add(check, detail, ok=True)

    def failed_with(self, check: CheckName, detail: str) -> None:
        self.add(check, detail, ok=False)

    def finish(self) -> list[Check]:
        """The full list, with the checks not reached reported as not checked."""
        done = {c.check for c in self.checks}
        failed = self.failed
        for name in CHECK_ORDER:
            if name not in done:
                self.checks.append(Check(name, False, f"not checked: {failed or 'a check'} failed"))
        order = {name: i for i, name in enumerate(CHECK_ORDER)}
        return sorted(self.checks, key=lambda c: order[c.check])


def named(names: Iterable[str]) -> str:
    """`a, b, c` and `and N more` past MAX_NAMED."""
    listed = list(names)
    shown = ", ".join(listed[:MAX_NAMED])
    rest = len(listed) - MAX_NAMED
    return f"{shown} and {rest} more" if rest > 0 else shown


def pg_privileges_detail(missing: list[str], *, tables: int, sequences: int, where: str) -> str:
    """The sentence of the PostgreSQL privileges check."""
    if missing:
        return f"missing SELECT on {named(missing)}"
    return f"SELECT on all {tables} tables and {sequences} sequences of {where}"


@dataclass(frozen=True)
class Grant:
    """One `GRANT ... ON target` line: the privileges and the database pattern (None = *.*)."""

    privileges: frozenset[str]
    database: str | None
    table: str | None


def parse_grants(lines: Iterable[str]) -> list[Grant]:
    """The object grants of `SHOW GRANTS` output (role and proxy grants are skipped)."""
    grants = []
    for line in lines:
        match = _GRANT.match(line.strip())
        if match is None or match["privileges"].upper().startswith("PROXY"):
            continue
        privileges = frozenset(_privilege_names(match["privileges"]))
        database, _, table = match["target"].partition(".")
        grants.append(
            Grant(
                privileges=privileges,
                database=None if database == "*" else _unquote(database),
                table=None if table in {"*", ""} else _unquote(table),
            )
        )
    return grants


def _privilege_names(text: str) -> list[str]:
    without_columns = re.sub(r"\([^)]*\)", "", text)
    names = [" ".join(p.split()).upper() for p in without_columns.split(",")]
    return ["ALL" if n in {"ALL", "ALL PRIVILEGES"} else n for n in names if n]


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == "`":
        return name[1:-1].replace("``", "`")
    return name


def _database_matches(pattern: str, database: str) -> bool:
    """MySQL database grants may use `_` and `%` wildcards, `\\_` for a literal underscore."""
    regex = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.fullmatch(regex, database) is not None


def _held(grants: list[Grant], database: str | None) -> set[str]:
    held: set[str] = set()
    for grant in grants:
        if grant.table is not None:
            continue  # table-level grants do not cover a whole database
        if grant.database is None or (
            database is not None and _database_matches(grant.database, database)
        ):
            held |= grant.privileges
    return held


def held_globally(grants: list[Grant]) -> set[str]:
    """The privileges granted on *.*."""
    return _held(grants, None)


def mysql_missing(grants: list[Grant], databases: list[str]) -> list[str]:
    """Privileges a dump of `databases` needs and the grants do not give, in a fixed order."""
    global_held = _held(grants, None)
    missing = [
        privilege
        for privilege in MYSQL_GLOBAL_PRIVILEGES
        if privilege not in global_held and "ALL" not in global_held
    ]
    for database in databases:
        held = _held(grants, database)
        for privilege in MYSQL_DB_PRIVILEGES:
            if privilege not in held and "ALL" not in held and privilege not in missing:
                missing.append(privilege)
    order = {p: i for i, p in enumerate((*MYSQL_DB_PRIVILEGES, *MYSQL_GLOBAL_PRIVILEGES))}
    return sorted(missing, key=order.__getitem__)


def mysql_privileges_detail(missing: list[str], databases: list[str]) -> str:
    """The sentence of the MySQL/MariaDB privileges check."""
    where = named(databases) if databases else "the server"
    if missing:
        return f"missing: {', '.join(missing)} (needed to dump {where})"
    return f"all of {', '.join((*MYSQL_DB_PRIVILEGES, *MYSQL_GLOBAL_PRIVILEGES))} on {where}"
