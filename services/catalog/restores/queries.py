"""Answers to the restore requests asked over the broker (shared/queries/catalog.py).

`target_activity` tells what runs on a database now; the api refuses a restore into a
database where anything does.
"""

from typing import Any
from uuid import UUID

from services.catalog.restores.adapters import db
from services.catalog.snapshots.listing import (
    InvalidCursorError,
    Sort,
    decode_cursor,
)
from shared.queries import (
    INVALID_QUERY,
    NOT_FOUND,
    GetRestore,
    ListRestores,
    QueryRefused,
    RestorePage,
    RestoreReply,
    TargetActivity,
    TargetActivityReply,
)
from shared.queries.cursors import encode_position

SNAPSHOT_RESTORES = 50
"""How many of a snapshot's restores its detail lists (newest first)."""
SORT: Sort = "-created_at"
"""Restores are listed newest first, in the keyset order of the snapshots' default sort."""


RestoreQuery = GetRestore | ListRestores | TargetActivity


async def answer_restore_query(
    conn: Any, schema: str, query: RestoreQuery
) -> RestoreReply | RestorePage | TargetActivityReply | QueryRefused:
    """The reply to one restore request."""
    match query:
        case GetRestore():
            record = await db.get_restore(conn, schema, query.restore_id)
            if record is None:
                return QueryRefused(error=NOT_FOUND)
            return RestoreReply(restore=record.public())
        case ListRestores():
            return await _list(conn, schema, query)
        case TargetActivity():
            return await _target_activity(conn, schema, query)


async def _list(conn: Any, schema: str, query: ListRestores) -> RestorePage | QueryRefused:
    try:
        after = None if query.cursor is None else decode_cursor(query.cursor, SORT)
    except InvalidCursorError as exc:
        return QueryRefused(error=f"{INVALID_QUERY}: cursor ({exc})")
    filters = {
        "snapshot_id": query.snapshot_id,
        "status": query.status,
        "server_id": query.server_id,
        "database": query.database,
    }
    rows = await db.list_restores(conn, schema, filters, limit=query.limit + 1, after=after)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return RestorePage(
        restores=[record.public() for record in page],
        next_cursor=encode_position(SORT, page[-1].created_at, page[-1].id) if more else None,
    )


async def _target_activity(conn: Any, schema: str, query: TargetActivity) -> TargetActivityReply:
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
    return TargetActivityReply(backups=backups, restores=list(dict.fromkeys(restores)))


async def snapshot_restores(conn: Any, schema: str, snapshot_id: UUID) -> list[dict[str, Any]]:
    """The snapshot's restores for its detail, newest first."""
    rows = await db.list_restores(
        conn, schema, {"snapshot_id": snapshot_id}, limit=SNAPSHOT_RESTORES
    )
    return [record.public() for record in rows]
