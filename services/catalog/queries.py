"""Answers to snapshot queries asked over the broker (interfaces.md #8)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from asyncpg import Pool
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.catalog.adapters import db
from shared.events import SnapshotStatus

MAX_LIST = 1000


class GetSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")
    op: Literal["get_snapshot"]
    snapshot_id: UUID


class ListSnapshots(BaseModel):
    model_config = ConfigDict(extra="ignore")
    op: Literal["list_snapshots"]
    status: SnapshotStatus | None = None
    server_id: UUID | None = None
    limit: int = Field(default=MAX_LIST, ge=1, le=MAX_LIST)


Query = TypeAdapter[GetSnapshot | ListSnapshots](
    Annotated[GetSnapshot | ListSnapshots, Field(discriminator="op")]
)


async def answer_query(pool: Pool, schema: str, body: Any) -> dict[str, Any]:
    """The reply to one query; a query that cannot be understood gets `ok: false`."""
    try:
        query = Query.validate_python(body)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return {"ok": False, "error": f"invalid query: {fields}"}
    async with pool.acquire() as conn:
        if isinstance(query, GetSnapshot):
            record = await db.get_snapshot(conn, schema, query.snapshot_id)
            if record is None:
                return {"ok": False, "error": "not_found"}
            return {"ok": True, "snapshot": record.public()}
        records = await db.list_snapshots(
            conn, schema, status=query.status, server_id=query.server_id, limit=query.limit
        )
    return {"ok": True, "snapshots": [record.public() for record in records]}
