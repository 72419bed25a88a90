"""The restores table, and the snapshot columns restores read and write (SQL in constants)."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from services.catalog.restores.status import RestoreRecord
from services.catalog.snapshots.listing import Cursor
from shared.database import Conn

COLUMNS = (
    "id, snapshot_id, status, requested, mode, server_id, database, overwrite, bytes_restored, "
    "bytes_read, chunks_verified, created_at, started_at, finished_at, last_event_at, error, "
    "attempt_id, created_database, target_dropped, verify_ok, table_differences::text AS "
    "table_differences"
)
ENSURE_ROW = """
INSERT INTO {schema}.restores (id, snapshot_id, status, created_at, last_event_at)
VALUES ($1, $2, 'pending', $3, $3)
ON CONFLICT (id) DO NOTHING
"""
SELECT_FOR_UPDATE = "SELECT " + COLUMNS + " FROM {schema}.restores WHERE id = $1 FOR UPDATE"
SELECT_ONE = "SELECT " + COLUMNS + " FROM {schema}.restores WHERE id = $1"
UPDATE = """
UPDATE {schema}.restores SET
    status = $2, requested = $3, mode = $4, server_id = $5, database = $6, overwrite = $7,
    bytes_restored = $8, bytes_read = $9, chunks_verified = $10, created_at = $11,
    started_at = $12, finished_at = $13, last_event_at = $14, error = $15, attempt_id = $16,
    created_database = $17, target_dropped = $18, verify_ok = $19, table_differences = $20::jsonb
WHERE id = $1
"""
SELECT_PAGE = (
    "SELECT " + COLUMNS + " FROM {schema}.restores WHERE {where} "
    "ORDER BY created_at DESC, id DESC LIMIT {limit}"
)
FILTERS = {
    "snapshot_id": "snapshot_id = ${n}::uuid",
    "status": "status = ${n}::text",
    "server_id": "server_id = ${n}::uuid",
    "database": "database = ${n}::text",
}
SELECT_RUNNING = (
    "SELECT "
    + COLUMNS
    + """ FROM {schema}.restores
WHERE server_id = $1 AND database = $2 AND status IN ('pending', 'in_progress')
ORDER BY created_at, id
"""
)
SELECT_STUCK = (
    "SELECT "
    + COLUMNS
    + """ FROM {schema}.restores
WHERE (status = 'in_progress' AND last_event_at < $1)
   OR (status = 'pending' AND created_at < $2)
ORDER BY last_event_at
LIMIT $3
FOR UPDATE SKIP LOCKED
"""
)
SERVER_RESTORES = """
SELECT count(*) FROM {schema}.restores
WHERE server_id = $1 AND status IN ('pending', 'in_progress')
"""
RUNNING_BACKUPS = """
SELECT id FROM {schema}.snapshots
WHERE server_id = $1 AND database = $2 AND status IN ('pending', 'in_progress')
ORDER BY created_at, id
"""
# Known: its request was recorded (its status and target are then the catalog's), or it ended.
KNOWN_SNAPSHOTS = """
SELECT id FROM {schema}.snapshots
WHERE id = ANY($1::uuid[]) AND (requested OR status IN ('completed', 'failed', 'deleted'))
"""
KNOWN_RESTORES = """
SELECT id FROM {schema}.restores
WHERE id = ANY($1::uuid[]) AND (requested OR status IN ('completed', 'failed'))
"""
SET_VERIFICATION = """
UPDATE {schema}.snapshots SET verified_at = $2, verify_result = $3::jsonb
WHERE id = $1 AND (verified_at IS NULL OR verified_at <= $2)
"""


def _record(row: Any) -> RestoreRecord:
    values = dict(row)
    values["table_differences"] = json.loads(values["table_differences"] or "[]")
    return RestoreRecord.model_validate(values)


async def lock_restore(
    conn: Conn, schema: str, restore_id: UUID, snapshot_id: UUID, *, now: datetime
) -> RestoreRecord:
    """The restore's record, row-locked for this transaction; a placeholder if it was unknown."""
    await conn.execute(ENSURE_ROW.format(schema=schema), restore_id, snapshot_id, now)
    row = await conn.fetchrow(SELECT_FOR_UPDATE.format(schema=schema), restore_id)
    return _record(row)


async def save_restore(conn: Conn, schema: str, record: RestoreRecord) -> None:
    """Write back a record read with `lock_restore`."""
    await conn.execute(
        UPDATE.format(schema=schema),
        record.id,
        record.status,
        record.requested,
        record.mode,
        record.server_id,
        record.database,
        record.overwrite,
        record.bytes_restored,
        record.bytes_read,
        record.chunks_verified,
        record.created_at,
        record.started_at,
        record.finished_at,
        record.last_event_at,
        record.error,
        record.attempt_id,
        record.created_database,
        record.target_dropped,
        record.verify_ok,
        json.dumps(record.table_differences),
    )


async def get_restore(conn: Conn, schema: str, restore_id: UUID) -> RestoreRecord | None:
    row = await conn.fetchrow(SELECT_ONE.format(schema=schema), restore_id)
    return None if row is None else _record(row)


async def list_restores(
    conn: Conn, schema: str, filters: dict[str, Any], *, limit: int, after: Cursor | None = None
) -> list[RestoreRecord]:
    """Up to `limit` restores, newest first, starting after `after`; only fixed fragments go
    into the text, every value is a bound argument."""
    clauses: list[str] = []
    args: list[Any] = []
    for name, value in filters.items():
        if value is None:
            continue
        args.append(value)
        clauses.append(FILTERS[name].replace("{n}", str(len(args))))
    if after is not None:
        args += [after.key, after.id]
        clauses.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)}::uuid)")
    sql = SELECT_PAGE.format(schema=schema, where=" AND ".join(clauses) or "true", limit=limit)
    return [_record(row) for row in await conn.fetch(sql, *args)]


async def running_restores(
    conn: Conn, schema: str, server_id: UUID, database: str
) -> list[RestoreRecord]:
    """Restores pending or in progress into this server's database."""
    rows = await conn.fetch(SELECT_RUNNING.format(schema=schema), server_id, database)
    return [_record(row) for row in rows]


async def server_restores(conn: Conn, schema: str, server_id: UUID) -> int:
    """How many restores are pending or in progress into a server."""
    return int(await conn.fetchval(SERVER_RESTORES.format(schema=schema), server_id))


async def running_backups(conn: Conn, schema: str, server_id: UUID, database: str) -> list[UUID]:
    """Snapshots pending or in progress of this server's database."""
    rows = await conn.fetch(RUNNING_BACKUPS.format(schema=schema), server_id, database)
    return [row["id"] for row in rows]


async def known_snapshots(conn: Conn, schema: str, ids: list[UUID]) -> set[UUID]:
    """Which of `ids` the catalog knows the whereabouts of (requested or ended)."""
    rows = await conn.fetch(KNOWN_SNAPSHOTS.format(schema=schema), ids)
    return {row["id"] for row in rows}


async def known_restores(conn: Conn, schema: str, ids: list[UUID]) -> set[UUID]:
    """Which of `ids` the catalog knows the whereabouts of (requested or ended)."""
    rows = await conn.fetch(KNOWN_RESTORES.format(schema=schema), ids)
    return {row["id"] for row in rows}


async def lock_stuck_restores(
    conn: Conn, schema: str, *, silent_since: datetime, pending_since: datetime, limit: int
) -> list[RestoreRecord]:
    """In-progress restores silent since `silent_since`, pending ones created before
    `pending_since`; row-locked, skipping rows another replica is handling."""
    rows = await conn.fetch(SELECT_STUCK.format(schema=schema), silent_since, pending_since, limit)
    return [_record(row) for row in rows]


async def set_verification(
    conn: Conn, schema: str, snapshot_id: UUID, *, at: datetime, result: dict[str, Any]
) -> None:
    """The snapshot's last verify, unless a later one already landed."""
    await conn.execute(SET_VERIFICATION.format(schema=schema), snapshot_id, at, json.dumps(result))
