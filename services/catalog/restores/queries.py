"""Answers to restore queries asked over the broker (issue 6).

- `get_restore {restore_id}` -> `{"ok", "restore"}` or `{"ok": false, "error": "not_found"}`
- `list_restores {snapshot_id?, status?, server_id?, database?, limit?, cursor?}` ->
  `{"ok", "restores", "next_cursor"}`, newest first
- `target_activity {server_id, database, requested?: [snapshot ids], requested_restores?:
  [restore ids]}` -> `{"ok", "backups": [snapshot ids], "restores": [restore ids]}`: what runs
  on that database now: the backups taken from it and the restores writing into it, plus
  those of the api's recent requests the catalog has not recorded yet (pending by
  definition: the outbox may be a moment ahead of the catalog). The api refuses a restore
  into such a database.
"""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.restores.adapters import db
from services.catalog.restores.status import RestoreStatus
from services.catalog.snapshots.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursorError,
    Sort,
    decode_cursor,
    encode_position,
)

SNAPSHOT_RESTORES = 50
"""How many of a snapshot's restores its detail lists (newest first)."""
SORT: Sort = "-created_at"
"""Restores are listed newest first, in the keyset order of the snapshots' default sort."""


class _Op(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GetRestore(_Op):
    op: Literal["get_restore"]
    restore_id: UUID


class ListRestores(_Op):
    op: Literal["list_restores"]
    snapshot_id: UUID | None = None
    status: RestoreStatus | None = None
    server_id: UUID | None = None
    database: str | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class TargetActivity(_Op):
    op: Literal["target_activity"]
    server_id: UUID
    database: str
    requested: list[UUID] = Field(default_factory=list, max_length=1000)
    requested_restores: list[UUID] = Field(default_factory=list, max_length=1000)


RestoreQuery = GetRestore | ListRestores | TargetActivity


async def answer_restore_query(conn: Any, schema: str, query: RestoreQuery) -> dict[str, Any]:
    """The reply to one restore query."""
    match query:
        case GetRestore():
            record = await db.get_restore(conn, schema, query.restore_id)
            if record is None:
                return {"ok": False, "error": "not_found"}
            return {"ok": True, "restore": record.public()}
        case ListRestores():
            return await _list(conn, schema, query)
        case TargetActivity():
            return await _target_activity(conn, schema, query)


async def _list(conn: Any, schema: str, query: ListRestores) -> dict[str, Any]:
    try:
        after = None if query.cursor is None else decode_cursor(query.cursor, SORT)
    except InvalidCursorError as exc:
        return {"ok": False, "error": f"invalid query: cursor ({exc})"}
    filters = {
        "snapshot_id": query.snapshot_id,
        "status": query.status,
        "server_id": query.server_id,
        "database": query.database,
    }
    rows = await db.list_restores(conn, schema, filters, limit=query.limit + 1, after=after)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return {
        "ok": True,
        "restores": [record.public() for record in page],
        "next_cursor": encode_position(SORT, page[-1].created_at, page[-1].id) if more else None,
    }


async def _target_activity(conn: Any, schema: str, query: TargetActivity) -> dict[str, Any]:
    # One snapshot of the records for all four reads: a request recorded between "running?"
    # and "known?" was otherwise in neither answer, and a restore was let in under a backup.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        backups = await db.running_backups(conn, schema, query.server_id, query.database)
        if query.requested:
            known = await db.known_snapshots(conn, schema, query.requested)
            backups += [sid for sid in query.requested if sid not in known and sid not in backups]
        restores = [
            record.id
            for record in await db.running_restores(conn, schema, query.server_id, query.database)
        ]
        if query.requested_restores:
            recorded = await db.known_restores(conn, schema, query.requested_restores)
            restores += [rid for rid in query.requested_restores if rid not in recorded]
    return {
        "ok": True,
        "backups": [str(sid) for sid in backups],
        "restores": [str(rid) for rid in dict.fromkeys(restores)],
    }


async def snapshot_restores(conn: Any, schema: str, snapshot_id: UUID) -> list[dict[str, Any]]:
    """The snapshot's restores for its detail, newest first."""
    rows = await db.list_restores(
        conn, schema, {"snapshot_id": snapshot_id}, limit=SNAPSHOT_RESTORES
    )
    return [record.public() for record in rows]
