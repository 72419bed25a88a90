"""MariaDB/MySQL prerequisites of binlog streaming with `--read-from-remote-server`. Pure."""

import re
from dataclasses import dataclass

from services.dumper.checks import Grant, held_globally
from services.dumper.readiness._base import Prerequisite, Readiness


@dataclass(frozen=True)
class MysqlFacts:
    version: str
    account: str
    """CURRENT_USER(): the account the grants belong to, `backup@%`."""
    log_bin: bool
    binlog_format: str
    server_id: int
    grants: list[Grant]


def mysql_readiness(facts: MysqlFacts) -> Readiness:
    return Readiness(
        (
            _log_bin(facts),
            _binlog_format(facts.binlog_format),
            _server_id(facts.server_id),
            _privileges(facts),
        )
    )


def is_mariadb(version: str) -> bool:
    return "mariadb" in version.lower()


def _log_bin(facts: MysqlFacts) -> Prerequisite:
    if facts.log_bin:
        return Prerequisite("log_bin", ok=True, detail="log_bin is ON")
    base = "mariadb-bin" if is_mariadb(facts.version) else "mysql-bin"
    detail = (
        f"log_bin is OFF: the server keeps no binary log; set `log_bin = {base}` under "
        "[mysqld] in its configuration and restart it"
    )
    return Prerequisite("log_bin", ok=False, detail=detail)


def _binlog_format(value: str) -> Prerequisite:
    if value.upper() == "ROW":
        return Prerequisite("binlog_format", ok=True, detail="binlog_format is ROW")
    detail = (
        f"binlog_format is {value}: set `binlog_format = ROW` under [mysqld] (and SET GLOBAL "
        "binlog_format = 'ROW' until the restart); MIXED and STATEMENT log changes as "
        "statements, which a replay of one database to a point in time cannot repeat exactly"
    )
    return Prerequisite("binlog_format", ok=False, detail=detail)


def _server_id(server_id: int) -> Prerequisite:
    if server_id != 0:
        return Prerequisite("server_id", ok=True, detail=f"server_id is {server_id}")
    detail = (
        "server_id is 0: the server refuses to stream its binlog; set `server_id = 1` (any "
        "number no other server of its replication uses) under [mysqld] and restart it"
    )
    return Prerequisite("server_id", ok=False, detail=detail)


def needed_privileges(version: str) -> tuple[tuple[str, ...], ...]:
    """Each needed privilege as the names that give it, the first being the one to grant.

    REPLICATION SLAVE streams the binlog; the monitor privilege reads the binlog position the
    full dump records; RELOAD takes the dump's brief global read lock. MariaDB 10.5 renamed
    REPLICATION CLIENT to BINLOG MONITOR (SHOW GRANTS prints the new name) and took it out of
    SUPER.
    """
    if is_mariadb(version) and _major_minor(version) >= (10, 5):
        monitor: tuple[str, ...] = ("BINLOG MONITOR", "REPLICATION CLIENT")
    else:
        monitor = ("REPLICATION CLIENT", "SUPER")
    return (("REPLICATION SLAVE", "REPLICATION REPLICA"), monitor, ("RELOAD",))


def _privileges(facts: MysqlFacts) -> Prerequisite:
    held = held_globally(facts.grants)
    missing = [
        names[0]
        for names in needed_privileges(facts.version)
        if "ALL" not in held and not held.intersection(names)
    ]
    account = _account(facts.account)
    if not missing:
        named = ", ".join(n[0] for n in needed_privileges(facts.version))
        detail = f"{account} holds {named} on *.*"
        return Prerequisite("replication_privileges", ok=True, detail=detail)
    listed = ", ".join(missing)
    detail = f"{account} lacks {listed} on *.*: GRANT {listed} ON *.* TO {account}"
    return Prerequisite("replication_privileges", ok=False, detail=detail)


def _account(current_user: str) -> str:
    """`backup@%` as `'backup'@'%'`, the form GRANT takes."""
    user, _, host = current_user.rpartition("@")
    if not user:
        user, host = current_user, "%"
    return f"'{_quoted(user)}'@'{_quoted(host)}'"


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _major_minor(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else (0, 0)
