"""The catalog's tables, behind typed functions (SQL in module constants)."""

import json
from datetime import datetime
from uuid import UUID

from services.catalog.status import SnapshotRecord
from shared.database import Conn
from shared.events import Event

INSERT_TIMELINE = """
INSERT INTO {schema}.snapshot_events (event_id, snapshot_id, event_type, occurred_at, payload)
VALUES ($1, $2, $3, $4, $5::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""

COLUMNS = (
    "id, status, requested, server_id, server_name, database, volume_id, compression, "
    "created_at, started_at, finished_at, bytes_dumped, size, sha256, path, error, "
    "attempt_id, last_event_at"
)
ENSURE_ROW = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at)
VALUES ($1, 'pending', $2, $2)
ON CONFLICT (id) DO NOTHING
"""
SELECT_FOR_UPDATE = "SELECT " + COLUMNS + " FROM {schema}.snapshots WHERE id = $1 FOR UPDATE"
SELECT_ONE = "SELECT " + COLUMNS + " FROM {schema}.snapshots WHERE id = $1"
SELECT_MANY = (
    "SELECT "
    + COLUMNS
    + """ FROM {schema}.snapshots
WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR server_id = $2)
ORDER BY created_at DESC, id
LIMIT $3
"""
)
SELECT_STUCK = (
    "SELECT "
    + COLUMNS
    + """ FROM {schema}.snapshots
WHERE (status = 'in_progress' AND last_event_at < $1)
   OR (status = 'pending' AND created_at < $2)
ORDER BY last_event_at
LIMIT $3
FOR UPDATE SKIP LOCKED
"""
)
UPDATE = """
UPDATE {schema}.snapshots SET
    status = $2, requested = $3, server_id = $4, server_name = $5, database = $6,
    volume_id = $7, compression = $8, created_at = $9, started_at = $10, finished_at = $11,
    bytes_dumped = $12, size = $13, sha256 = $14, path = $15, error = $16, attempt_id = $17,
    last_event_at = $18
WHERE id = $1
"""


async def record_timeline(conn: Conn, schema: str, event: Event) -> None:
    """Append `event` to its snapshot's timeline."""
    await conn.execute(
        INSERT_TIMELINE.format(schema=schema),
        event.event_id,
        event.snapshot_id,
        type(event).__name__,
        event.occurred_at,
        json.dumps(event.model_dump(mode="json")),
    )


async def lock_snapshot(
    conn: Conn, schema: str, snapshot_id: UUID, *, now: datetime
) -> SnapshotRecord:
    """The snapshot's record, row-locked for this transaction; a placeholder if it was unknown.

    Inserting first makes concurrent replicas queue on the same row instead of both
    creating it from nothing.
    """
    await conn.execute(ENSURE_ROW.format(schema=schema), snapshot_id, now)
    row = await conn.fetchrow(SELECT_FOR_UPDATE.format(schema=schema), snapshot_id)
    return SnapshotRecord.model_validate(dict(row))  # type: ignore[arg-type]


async def save_snapshot(conn: Conn, schema: str, record: SnapshotRecord) -> None:
    """Write back a record read with `lock_snapshot`."""
    await conn.execute(
        UPDATE.format(schema=schema),
        record.id,
        record.status,
        record.requested,
        record.server_id,
        record.server_name,
        record.database,
        record.volume_id,
        record.compression,
        record.created_at,
        record.started_at,
        record.finished_at,
        record.bytes_dumped,
        record.size,
        record.sha256,
        record.path,
        record.error,
        record.attempt_id,
        record.last_event_at,
    )


async def get_snapshot(conn: Conn, schema: str, snapshot_id: UUID) -> SnapshotRecord | None:
    row = await conn.fetchrow(SELECT_ONE.format(schema=schema), snapshot_id)
    return None if row is None else SnapshotRecord.model_validate(dict(row))


async def list_snapshots(
    conn: Conn, schema: str, *, status: str | None, server_id: UUID | None, limit: int
) -> list[SnapshotRecord]:
    """Newest first, filtered by status and server when given."""
    rows = await conn.fetch(SELECT_MANY.format(schema=schema), status, server_id, limit)
    return [SnapshotRecord.model_validate(dict(row)) for row in rows]


async def lock_stuck_snapshots(
    conn: Conn, schema: str, *, silent_since: datetime, pending_since: datetime, limit: int
) -> list[SnapshotRecord]:
    """In-progress records silent since `silent_since`, pending ones created before
    `pending_since`; row-locked, skipping rows another replica is handling."""
    rows = await conn.fetch(SELECT_STUCK.format(schema=schema), silent_since, pending_since, limit)
    return [SnapshotRecord.model_validate(dict(row)) for row in rows]
