"""Answers to the snapshot and restore requests asked over the broker (shared/queries)."""

from typing import Any
from uuid import UUID

from asyncpg import Pool
from pydantic import ValidationError

from services.catalog.adapters import db
from services.catalog.adapters.restores import server_restores
from services.catalog.detail import snapshot_detail
from services.catalog.encryption_queries import answer_encryption_query
from services.catalog.listing import InvalidCursorError, decode_cursor, next_cursor
from services.catalog.restore_queries import answer_restore_query, snapshot_restores
from services.catalog.retention_queries import answer_retention_query
from services.catalog.warnings import snapshot_warnings
from shared.queries import (
    INVALID_QUERY,
    NOT_FOUND,
    CatalogQueries,
    CatalogQuery,
    EncryptionKeys,
    GetRestore,
    GetSnapshot,
    ListRestores,
    ListSnapshots,
    QueryRefused,
    Reply,
    RetentionCandidates,
    ServerActivity,
    ServerActivityReply,
    SnapshotPage,
    SnapshotReply,
    TargetActivity,
    VolumeActivity,
    VolumeActivityReply,
    VolumeUsage,
    VolumeUsageReply,
    refused_for,
)

FILTER_FIELDS = ("server_id", "database", "volume_id", "status", "created_from", "created_to")


async def answer_query(pool: Pool, schema: str, body: Any) -> Reply | QueryRefused:
    """The reply to one request; one that cannot be understood is refused with the reason."""
    try:
        query = CatalogQueries.validate_python(body)
    except ValidationError as exc:
        return refused_for(exc)
    async with pool.acquire() as conn:
        return await _answer(conn, schema, query)


async def _answer(conn: Any, schema: str, query: CatalogQuery) -> Reply | QueryRefused:  # noqa: PLR0911 - one return per request
    match query:
        case GetSnapshot():
            return await _detail(conn, schema, query.snapshot_id)
        case ListSnapshots():
            return await _list(conn, schema, query)
        case VolumeUsage():
            size, count = await db.volume_usage(conn, schema, query.volume_id)
            return VolumeUsageReply(bytes=size, snapshots=count)
        case ServerActivity():
            running, count = await db.server_activity(conn, schema, query.server_id)
            restores = await server_restores(conn, schema, query.server_id)
            return ServerActivityReply(in_progress=running, snapshots=count, restores=restores)
        case VolumeActivity():
            count = await db.volume_activity(conn, schema, query.volume_id)
            return VolumeActivityReply(snapshots=count)
        case GetRestore() | ListRestores() | TargetActivity():
            return await answer_restore_query(conn, schema, query)
        case RetentionCandidates():
            return await answer_retention_query(conn, schema, query)
        case EncryptionKeys():
            return await answer_encryption_query(conn, schema, query)


async def _detail(conn: Any, schema: str, snapshot_id: UUID) -> SnapshotReply | QueryRefused:
    record = await db.get_snapshot(conn, schema, snapshot_id)
    if record is None:
        return QueryRefused(error=NOT_FOUND)
    timeline = await db.timeline(conn, schema, snapshot_id)
    restores = await snapshot_restores(conn, schema, snapshot_id)
    warnings = await snapshot_warnings(conn, schema, snapshot_id)
    detail = snapshot_detail(record, timeline, restores) | {"warnings": warnings}
    return SnapshotReply(snapshot=detail)


async def _list(conn: Any, schema: str, query: ListSnapshots) -> SnapshotPage | QueryRefused:
    try:
        after = None if query.cursor is None else decode_cursor(query.cursor, query.sort)
    except InvalidCursorError as exc:
        return QueryRefused(error=f"{INVALID_QUERY}: cursor ({exc})")
    page = db.PageQuery(
        filters={name: getattr(query, name) for name in FILTER_FIELDS},
        sort=query.sort,
        limit=query.limit,
        after=after,
    )
    rows = await db.list_page(conn, schema, page)
    return SnapshotPage(
        snapshots=[record.public() for record in rows[: query.limit]],
        next_cursor=next_cursor(rows, limit=query.limit, sort=query.sort),
    )
