"""PostgreSQL's prerequisites of WAL streaming with pg_receivewal through a slot. Pure."""

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from services.dumper.readiness._base import Prerequisite, Readiness

WAL_SENDERS_NEEDED = 2
"""pg_receivewal holds one WAL sender for good, and a base backup takes another while it runs."""
ReplicationOutcome = Literal["accepted", "no_hba_line", "not_replication_role", "refused"]


@dataclass(frozen=True)
class ReplicationAttempt:
    """How the server answered a physical replication connection (what pg_receivewal opens)."""

    outcome: ReplicationOutcome
    message: str = ""


@dataclass(frozen=True)
class PostgresFacts:
    role: str
    superuser: bool
    replication: bool
    wal_level: str
    max_wal_senders: int
    wal_senders_used: int
    max_replication_slots: int
    slots_used: int
    client_address: str | None
    """The dumper's address as the server sees it; None over a Unix socket."""
    password_encryption: str
    attempt: ReplicationAttempt


def postgres_readiness(facts: PostgresFacts) -> Readiness:
    role = pg_identifier(facts.role)
    return Readiness(
        (
            _replication_role(facts, role),
            _wal_level(facts.wal_level),
            _wal_senders(facts.max_wal_senders, facts.wal_senders_used),
            _slots(facts.max_replication_slots, facts.slots_used),
            _replication_connection(facts, role),
        )
    )


def pg_identifier(name: str) -> str:
    """`backup`, or `"Backup-1"` where SQL needs the quotes."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _replication_role(facts: PostgresFacts, role: str) -> Prerequisite:
    if facts.superuser:
        return Prerequisite("replication_role", ok=True, detail=f"role {role} is a superuser")
    if facts.replication:
        return Prerequisite("replication_role", ok=True, detail=f"role {role} has REPLICATION")
    detail = f"role {role} lacks REPLICATION: ALTER ROLE {role} REPLICATION"
    return Prerequisite("replication_role", ok=False, detail=detail)


def _wal_level(level: str) -> Prerequisite:
    if level in {"replica", "logical"}:
        return Prerequisite("wal_level", ok=True, detail=f"wal_level is {level}")
    detail = (
        f"wal_level is {level}: set wal_level = replica in postgresql.conf and restart the server"
    )
    return Prerequisite("wal_level", ok=False, detail=detail)


def _wal_senders(maximum: int, used: int) -> Prerequisite:
    free = maximum - used
    if free >= WAL_SENDERS_NEEDED:
        detail = f"max_wal_senders is {maximum}, {used} in use: {free} free"
        return Prerequisite("wal_senders", ok=True, detail=detail)
    detail = (
        f"max_wal_senders is {maximum}, {used} in use: archiving needs {WAL_SENDERS_NEEDED} free "
        "(the WAL stream and a base backup); raise max_wal_senders in postgresql.conf "
        "and restart the server"
    )
    return Prerequisite("wal_senders", ok=False, detail=detail)


def _slots(maximum: int, used: int) -> Prerequisite:
    if maximum > used:
        detail = f"max_replication_slots is {maximum}, {used} in use: a slot can be created"
        return Prerequisite("replication_slots", ok=True, detail=detail)
    detail = (
        f"max_replication_slots is {maximum}, {used} in use: no slot is free for the WAL "
        "stream; raise max_replication_slots in postgresql.conf and restart the server, "
        "or drop an unused slot"
    )
    return Prerequisite("replication_slots", ok=False, detail=detail)


def _replication_connection(facts: PostgresFacts, role: str) -> Prerequisite:
    where = facts.client_address or "the dumper"
    match facts.attempt.outcome:
        case "accepted":
            detail = f"a replication connection as {role} from {where} is accepted"
            return Prerequisite("replication_connection", ok=True, detail=detail)
        case "no_hba_line":
            detail = (
                f"pg_hba.conf has no replication line for {role} from {where}: add "
                f"`{hba_line(facts)}` and reload the server"
            )
        case "not_replication_role":
            detail = (
                f"pg_hba.conf lets {role} connect for replication from {where}, but the "
                "server refuses to stream WAL to a role without REPLICATION"
            )
        case "refused":
            detail = f"the replication connection was refused: {facts.attempt.message}"
    return Prerequisite("replication_connection", ok=False, detail=detail)


def hba_line(facts: PostgresFacts) -> str:
    """`host replication backup 10.0.0.5/32 scram-sha-256`, for the dumper's address."""
    address = "<dumper address>/32"
    if facts.client_address:
        ip = ipaddress.ip_address(facts.client_address)
        address = f"{ip}/{ip.max_prefixlen}"
    # The method that matches how the role's password is stored; not a password.
    method = "md5" if facts.password_encryption == "md5" else "scram-sha-256"  # noqa: S105
    return f"host replication {pg_identifier(facts.role)} {address} {method}"
