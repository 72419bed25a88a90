"""Gather the facts of archiving readiness from a real server (services.dumper.readiness)."""

from pathlib import Path

import asyncpg

from services.dumper.adapters import mysql
from services.dumper.adapters.postgres import connect_options, connected
from services.dumper.checks import parse_grants
from services.dumper.readiness import (
    MysqlFacts,
    PostgresFacts,
    ReplicationAttempt,
    mysql_readiness,
    postgres_readiness,
)
from services.dumper.readiness._base import Readiness
from shared.specs import ConnectionSpec

PG_FACTS = """
SELECT r.rolname, r.rolsuper, r.rolreplication,
       current_setting('wal_level') AS wal_level,
       current_setting('max_wal_senders')::int AS max_wal_senders,
       (SELECT count(*) FROM pg_stat_replication)::int AS wal_senders_used,
       current_setting('max_replication_slots')::int AS max_replication_slots,
       (SELECT count(*) FROM pg_replication_slots)::int AS slots_used,
       host(inet_client_addr()) AS client_address,
       current_setting('password_encryption') AS password_encryption
FROM pg_roles r WHERE r.rolname = current_user
"""
IDENTIFY_SYSTEM = "IDENTIFY_SYSTEM"
MYSQL_FACTS = "SELECT @@log_bin, @@binlog_format, @@server_id, CURRENT_USER(), VERSION()"


async def postgres_ready(spec: ConnectionSpec, *, database: str, within: float) -> Readiness:
    """The PostgreSQL verdict; DumpError when the ordinary connection fails."""
    async with connected(spec, database=database, within=within) as conn:
        row = await conn.fetchrow(PG_FACTS)
    assert row is not None  # noqa: S101 - current_user is always in pg_roles
    facts = PostgresFacts(
        role=row["rolname"],
        superuser=row["rolsuper"],
        replication=row["rolreplication"],
        wal_level=row["wal_level"],
        max_wal_senders=row["max_wal_senders"],
        wal_senders_used=row["wal_senders_used"],
        max_replication_slots=row["max_replication_slots"],
        slots_used=row["slots_used"],
        client_address=row["client_address"],
        password_encryption=row["password_encryption"],
        attempt=await replication_attempt(spec, within=within),
    )
    return postgres_readiness(facts)


async def replication_attempt(spec: ConnectionSpec, *, within: float) -> ReplicationAttempt:
    """Open a physical replication connection, as pg_receivewal will, and ask IDENTIFY_SYSTEM.

    The `replication` startup parameter makes the server match pg_hba.conf's `replication`
    lines; IDENTIFY_SYSTEM goes over the simple query protocol, the only one a walsender takes.
    """
    try:
        options = connect_options(spec, database="postgres", within=within, replication="true")
        conn = await asyncpg.connect(**options)
    except (asyncpg.PostgresError, TimeoutError, OSError) as exc:
        return _refusal(exc, within=within)
    try:
        await conn.execute(IDENTIFY_SYSTEM, timeout=within)
    except (asyncpg.PostgresError, TimeoutError) as exc:
        return _refusal(exc, within=within)
    finally:
        await conn.close(timeout=within)
    return ReplicationAttempt("accepted")


def _refusal(exc: Exception, *, within: float) -> ReplicationAttempt:
    # The server checks pg_hba.conf before the role: a walsender refused for lack of
    # REPLICATION proves that a replication line matched.
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return ReplicationAttempt("not_replication_role", str(exc))
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError) and (
        "no pg_hba.conf entry" in str(exc)
    ):
        return ReplicationAttempt("no_hba_line", str(exc))
    if isinstance(exc, TimeoutError):
        return ReplicationAttempt("refused", f"no answer within {within:g} s")
    if isinstance(exc, OSError):
        return ReplicationAttempt("refused", exc.strerror or type(exc).__name__)
    return ReplicationAttempt("refused", str(exc))


async def mysql_ready(
    client: Path, spec: ConnectionSpec, *, options: Path, within: float
) -> Readiness:
    """The MariaDB/MySQL verdict; DumpError when the client cannot ask."""
    row = await mysql.row(client, spec, MYSQL_FACTS, options=options, within=within)
    log_bin, binlog_format, server_id, account, version = (row + [""] * 5)[:5]
    grants = await mysql.grants(client, spec, options=options, within=within)
    facts = MysqlFacts(
        version=version,
        account=account,
        log_bin=log_bin in {"1", "ON"},
        binlog_format=binlog_format or "unknown",
        server_id=int(server_id) if server_id.isdigit() else 0,
        grants=parse_grants(grants),
    )
    return mysql_readiness(facts)
