"""The snapshots and snapshot_events tables, behind typed functions (SQL in module constants)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.catalog.snapshots.detail import QUIET_EVENTS, TIMELINE_LIMIT, TimelineEntry
from services.catalog.snapshots.listing import NO_SIZE, Cursor, Sort, descending
from services.catalog.snapshots.model import SnapshotRecord
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
    "attempt_id, last_event_at, bytes_compressed, chunks_staged, manifest, manifest_path, "
    "delete_error, server_type, verified_at, verify_result, config_id, locked, copies"
)
ENSURE_ROW = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at)
VALUES ($1, 'pending', $2, $2)
ON CONFLICT (id) DO NOTHING
"""
SELECT_FOR_UPDATE = "SELECT " + COLUMNS + " FROM {schema}.snapshots WHERE id = $1 FOR UPDATE"
SELECT_ONE = "SELECT " + COLUMNS + " FROM {schema}.snapshots WHERE id = $1"
SELECT_PAGE = (
    "SELECT " + COLUMNS + " FROM {schema}.snapshots WHERE {where} ORDER BY {order} LIMIT {limit}"
)
SORT_COLUMNS = {"created_at": "created_at", "size": f"COALESCE(size, {NO_SIZE})"}
"""Sort expressions; each matches an index (migration 0003) so a page is an index range."""
FILTERS = {
    "server_id": "server_id = ${n}::uuid",
    "database": "database = ${n}::text",
    # A snapshot is on every volume that has a copy of it.
    "volume_id": "(volume_id = ${n}::uuid OR copies @> "
    "jsonb_build_array(jsonb_build_object('volume_id', ${n}::uuid::text)))",
    "status": "status = ${n}::text",
    "created_from": "created_at >= ${n}::timestamptz",
    "created_to": "created_at <= ${n}::timestamptz",
}
NOT_DELETED = "status <> 'deleted'"
SELECT_TIMELINE = """
SELECT event_type, occurred_at, payload::text AS payload FROM {schema}.snapshot_events
WHERE snapshot_id = $1 AND event_type <> ALL($2::text[])
ORDER BY occurred_at, received_at
LIMIT $3
"""
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
SELECT_BY_CONFIG = (
    "SELECT " + COLUMNS + " FROM {schema}.snapshots "
    "WHERE config_id = $1 AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT $2"
)
SELECT_BY_SOURCE = (
    "SELECT " + COLUMNS + " FROM {schema}.snapshots "
    "WHERE server_id = $1 AND database = $2 AND status = 'completed' "
    "ORDER BY created_at DESC, id DESC LIMIT $3"
)
UPDATE = """
UPDATE {schema}.snapshots SET
    status = $2, requested = $3, server_id = $4, server_name = $5, database = $6,
    volume_id = $7, compression = $8, created_at = $9, started_at = $10, finished_at = $11,
    bytes_dumped = $12, size = $13, sha256 = $14, path = $15, error = $16, attempt_id = $17,
    last_event_at = $18, bytes_compressed = $19, chunks_staged = $20, manifest = $21::jsonb,
    manifest_path = $22, delete_error = $23, server_type = $24, copies = $25::jsonb
WHERE id = $1
"""


@dataclass(frozen=True)
class PageQuery:
    """One page of a listing: equality/range filters, a sort, where to start, how many."""

    filters: Mapping[str, Any]
    sort: Sort
    limit: int
    after: Cursor | None = None


def page_sql(schema: str, page: PageQuery) -> tuple[str, list[Any]]:
    """The SELECT of one page and its arguments; `limit + 1` rows tell if another page exists.

    Only fixed fragments go into the text; every value is a bound argument.
    """
    clauses: list[str] = []
    args: list[Any] = []
    for name, value in page.filters.items():
        if value is None:
            continue
        args.append(value)
        clauses.append(FILTERS[name].replace("{n}", str(len(args))))
    if page.filters.get("status") is None:
        clauses.append(NOT_DELETED)
    column = SORT_COLUMNS[page.sort.lstrip("-")]
    direction, compare = ("DESC", "<") if descending(page.sort) else ("ASC", ">")
    if page.after is not None:
        args += [page.after.key, page.after.id]
        clauses.append(f"({column}, id) {compare} (${len(args) - 1}, ${len(args)}::uuid)")
    sql = SELECT_PAGE.format(
        schema=schema,
        where=" AND ".join(clauses) or "true",
        order=f"{column} {direction}, id {direction}",
        limit=page.limit + 1,
    )
    return sql, args


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
    return _record(row)


def _record(row: Any) -> SnapshotRecord:
    values = dict(row)
    for column in ("manifest", "verify_result", "copies"):
        if isinstance(values.get(column), str):
            values[column] = json.loads(values[column])
    return SnapshotRecord.model_validate(values)


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
        record.bytes_compressed,
        record.chunks_staged,
        None if record.manifest is None else json.dumps(record.manifest),
        record.manifest_path,
        record.delete_error,
        record.server_type,
        json.dumps([copy.model_dump(mode="json") for copy in record.copies]),
    )


async def get_snapshot(conn: Conn, schema: str, snapshot_id: UUID) -> SnapshotRecord | None:
    row = await conn.fetchrow(SELECT_ONE.format(schema=schema), snapshot_id)
    return None if row is None else _record(row)


async def list_page(conn: Conn, schema: str, page: PageQuery) -> list[SnapshotRecord]:
    """Up to `page.limit + 1` records in the page's order, starting after its cursor."""
    sql, args = page_sql(schema, page)
    return [_record(row) for row in await conn.fetch(sql, *args)]


async def timeline(conn: Conn, schema: str, snapshot_id: UUID) -> list[TimelineEntry]:
    """The snapshot's recorded events in order, without the per-second and per-chunk ones."""
    rows = await conn.fetch(
        SELECT_TIMELINE.format(schema=schema), snapshot_id, list(QUIET_EVENTS), TIMELINE_LIMIT
    )
    return [
        TimelineEntry(row["event_type"], row["occurred_at"], json.loads(row["payload"]))
        for row in rows
    ]


async def lock_stuck_snapshots(
    conn: Conn, schema: str, *, silent_since: datetime, pending_since: datetime, limit: int
) -> list[SnapshotRecord]:
    """In-progress records silent since `silent_since`, pending ones created before
    `pending_since`; row-locked, skipping rows another replica is handling."""
    rows = await conn.fetch(SELECT_STUCK.format(schema=schema), silent_since, pending_since, limit)
    return [_record(row) for row in rows]


async def completed_of_config(
    conn: Conn, schema: str, config_id: UUID, *, limit: int
) -> list[SnapshotRecord]:
    """The completed snapshots a configuration fired, newest first."""
    rows = await conn.fetch(SELECT_BY_CONFIG.format(schema=schema), config_id, limit)
    return [_record(row) for row in rows]


async def completed_of_source(
    conn: Conn, schema: str, server_id: UUID, database: str, *, limit: int
) -> list[SnapshotRecord]:
    """The completed snapshots of one server's database, newest first."""
    rows = await conn.fetch(SELECT_BY_SOURCE.format(schema=schema), server_id, database, limit)
    return [_record(row) for row in rows]
