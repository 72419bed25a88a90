"""Answers to snapshot and restore queries asked over the broker (interfaces.md #8, issues
5 and 6)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.catalog.restores.adapters.db import server_restores
from services.catalog.restores.queries import (
    GetRestore,
    ListRestores,
    TargetActivity,
    answer_restore_query,
    snapshot_restores,
)
from services.catalog.snapshots.adapters import counts, db
from services.catalog.snapshots.detail import snapshot_detail
from services.catalog.snapshots.encryption_queries import EncryptionKeys, answer_encryption_query
from services.catalog.snapshots.listing import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    MAX_LIMIT,
    InvalidCursorError,
    Sort,
    decode_cursor,
    next_cursor,
)
from services.catalog.snapshots.retention_queries import RetentionCandidates, answer_retention_query
from services.catalog.snapshots.warnings import snapshot_warnings
from shared.database import Pool
from shared.events import SnapshotStatus


class _Op(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GetSnapshot(_Op):
    op: Literal["get_snapshot"]
    snapshot_id: UUID


class ListSnapshots(_Op):
    op: Literal["list_snapshots"]
    status: SnapshotStatus | None = None
    server_id: UUID | None = None
    database: str | None = None
    volume_id: UUID | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    sort: Sort = DEFAULT_SORT
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class VolumeUsage(_Op):
    op: Literal["volume_usage"]
    volume_id: UUID


class ServerActivity(_Op):
    op: Literal["server_activity"]
    server_id: UUID


class VolumeActivity(_Op):
    op: Literal["volume_activity"]
    volume_id: UUID


AnyQuery = (
    GetSnapshot
    | ListSnapshots
    | VolumeUsage
    | ServerActivity
    | VolumeActivity
    | GetRestore
    | ListRestores
    | TargetActivity
    | RetentionCandidates
    | EncryptionKeys
)
Query = TypeAdapter[AnyQuery](Annotated[AnyQuery, Field(discriminator="op")])
FILTER_FIELDS = ("server_id", "database", "volume_id", "status", "created_from", "created_to")


async def answer_query(pool: Pool, schema: str, body: Any) -> dict[str, Any]:
    """The reply to one query; a query that cannot be understood gets `ok: false`."""
    try:
        query = Query.validate_python(body)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return {"ok": False, "error": f"invalid query: {fields}"}
    async with pool.acquire() as conn:
        return await _answer(conn, schema, query)


async def _answer(conn: Any, schema: str, query: AnyQuery) -> dict[str, Any]:  # noqa: PLR0911 - one return per query op
    match query:
        case GetSnapshot():
            return await _detail(conn, schema, query.snapshot_id)
        case ListSnapshots():
            return await _list(conn, schema, query)
        case VolumeUsage():
            size, count = await counts.volume_usage(conn, schema, query.volume_id)
            return {"ok": True, "bytes": size, "snapshots": count}
        case ServerActivity():
            running, count = await counts.server_activity(conn, schema, query.server_id)
            restores = await server_restores(conn, schema, query.server_id)
            return {"ok": True, "in_progress": running, "snapshots": count, "restores": restores}
        case VolumeActivity():
            return {
                "ok": True,
                "snapshots": await counts.volume_activity(conn, schema, query.volume_id),
            }
        case GetRestore() | ListRestores() | TargetActivity():
            return await answer_restore_query(conn, schema, query)
        case RetentionCandidates():
            return await answer_retention_query(conn, schema, query)
        case EncryptionKeys():
            return await answer_encryption_query(conn, schema, query)


async def _detail(conn: Any, schema: str, snapshot_id: UUID) -> dict[str, Any]:
    record = await db.get_snapshot(conn, schema, snapshot_id)
    if record is None:
        return {"ok": False, "error": "not_found"}
    timeline = await db.timeline(conn, schema, snapshot_id)
    restores = await snapshot_restores(conn, schema, snapshot_id)
    warnings = await snapshot_warnings(conn, schema, snapshot_id)
    return {
        "ok": True,
        "snapshot": snapshot_detail(record, timeline, restores) | {"warnings": warnings},
    }


async def _list(conn: Any, schema: str, query: ListSnapshots) -> dict[str, Any]:
    try:
        after = None if query.cursor is None else decode_cursor(query.cursor, query.sort)
    except InvalidCursorError as exc:
        return {"ok": False, "error": f"invalid query: cursor ({exc})"}
    page = db.PageQuery(
        filters={name: getattr(query, name) for name in FILTER_FIELDS},
        sort=query.sort,
        limit=query.limit,
        after=after,
    )
    rows = await db.list_page(conn, schema, page)
    return {
        "ok": True,
        "snapshots": [record.public() for record in rows[: query.limit]],
        "next_cursor": next_cursor(rows, limit=query.limit, sort=query.sort),
    }
