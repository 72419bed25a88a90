"""The overdue_state table: each (configuration, server, database)'s last success and open
episode of the RPO alarm."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from asyncpg import Pool

from shared.database import Conn

CLEAR = """
UPDATE {schema}.overdue_state
SET overdue_since = NULL, notified_at = NULL,
    last_success_at = GREATEST(COALESCE(last_success_at, $3), $3)
WHERE server_id = $1 AND (database = $2 OR database = '*')
"""
UPSERT = """
INSERT INTO {schema}.overdue_state
    (config_id, server_id, database, config_name, server_name, last_success_at, checked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (config_id, server_id, database) DO UPDATE SET
    config_name = EXCLUDED.config_name,
    server_name = EXCLUDED.server_name,
    last_success_at = GREATEST(overdue_state.last_success_at, EXCLUDED.last_success_at),
    checked_at = EXCLUDED.checked_at
RETURNING last_success_at
"""
OPEN_EPISODE = """
UPDATE {schema}.overdue_state SET overdue_since = $4, notified_at = $5
WHERE config_id = $1 AND server_id = $2 AND database = $3 AND overdue_since IS NULL
RETURNING overdue_since
"""
CLOSE_EPISODE = """
UPDATE {schema}.overdue_state SET overdue_since = NULL, notified_at = NULL
WHERE config_id = $1 AND server_id = $2 AND database = $3 AND overdue_since IS NOT NULL
"""
FORGET_OTHERS = "DELETE FROM {schema}.overdue_state WHERE NOT (config_id = ANY($1::uuid[]))"
FORGET_DATABASES = """
DELETE FROM {schema}.overdue_state
WHERE config_id = $1 AND NOT (server_id = $2 AND database = ANY($3::text[]))
"""
SELECT_OVERDUE = """
SELECT config_id, config_name, server_name, database, last_success_at, overdue_since
FROM {schema}.overdue_state WHERE overdue_since IS NOT NULL
ORDER BY overdue_since, config_name, server_name, database
"""
SELECT_LAST_SUCCESS = """
SELECT server_name, database, max(last_success_at) AS last_success_at
FROM {schema}.overdue_state GROUP BY server_name, database
"""
TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('databasement.overdue.' || $1))"


@dataclass(frozen=True)
class Overdue:
    config_id: UUID
    config_name: str
    server: str
    database: str
    last_success_at: datetime | None
    overdue_since: datetime


async def clear_overdue(
    conn: Conn, schema: str, server_id: UUID, database: str, *, at: datetime
) -> None:
    """A completed snapshot of (server, database) ends its episodes at once."""
    await conn.execute(CLEAR.format(schema=schema), server_id, database, at)


async def try_lock(conn: Conn, schema: str) -> bool:
    """The pass's lock, held until the transaction ends: one replica checks at a time."""
    return bool(await conn.fetchval(TRY_LOCK, schema))


async def record_check(
    conn: Conn,
    schema: str,
    *,
    config_id: UUID,
    server_id: UUID,
    database: str,
    config_name: str,
    server_name: str,
    last_success_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """Store a check's findings; returns the best known last success (catalog or events)."""
    value: datetime | None = await conn.fetchval(
        UPSERT.format(schema=schema),
        config_id,
        server_id,
        database,
        config_name,
        server_name,
        last_success_at,
        now,
    )
    return value


async def open_episode(
    conn: Conn,
    schema: str,
    config_id: UUID,
    server_id: UUID,
    database: str,
    *,
    since: datetime,
    now: datetime,
) -> bool:
    """True when this call opened the episode (and so must notify); False when already open."""
    opened = await conn.fetchval(
        OPEN_EPISODE.format(schema=schema), config_id, server_id, database, since, now
    )
    return opened is not None


async def close_episode(
    conn: Conn, schema: str, config_id: UUID, server_id: UUID, database: str
) -> None:
    await conn.execute(CLOSE_EPISODE.format(schema=schema), config_id, server_id, database)


async def forget_others(conn: Conn, schema: str, config_ids: list[UUID]) -> None:
    """Configurations deleted, disabled or without an RPO are no longer watched."""
    await conn.execute(FORGET_OTHERS.format(schema=schema), config_ids)


async def forget_databases(
    conn: Conn, schema: str, config_id: UUID, server_id: UUID, databases: list[str]
) -> None:
    """A configuration's rows for databases it no longer backs up (or its `*` row once it
    fired, or another server after an edit) go."""
    await conn.execute(FORGET_DATABASES.format(schema=schema), config_id, server_id, databases)


async def list_overdue(pool: Pool, schema: str) -> list[Overdue]:
    rows = await pool.fetch(SELECT_OVERDUE.format(schema=schema))
    return [
        Overdue(
            config_id=row["config_id"],
            config_name=row["config_name"],
            server=row["server_name"],
            database=row["database"],
            last_success_at=row["last_success_at"],
            overdue_since=row["overdue_since"],
        )
        for row in rows
    ]


async def last_successes(pool: Pool, schema: str) -> list[tuple[str, str, datetime | None]]:
    rows = await pool.fetch(SELECT_LAST_SUCCESS.format(schema=schema))
    return [(row["server_name"], row["database"], row["last_success_at"]) for row in rows]
