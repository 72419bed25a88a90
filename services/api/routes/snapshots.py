"""/api/v1/snapshots: the state of every backup, as the catalog records it."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from services.api.deps import Link, Requests, Servers
from services.api.errors import NotFoundError, UnavailableError
from services.api.schemas import SnapshotPublic
from services.api.snapshots import merge_pending, pending_snapshot
from shared.events import SnapshotStatus, utc_now

router = APIRouter(prefix="/api/v1/snapshots", tags=["snapshots"])

CATALOG_LAG = timedelta(minutes=15)
"""How far back accepted requests are merged into a listing while the catalog catches up."""


@router.get("/{snapshot_id}")
async def get_snapshot(
    snapshot_id: UUID, *, link: Link, requests: Requests, servers: Servers
) -> SnapshotPublic:
    """One snapshot: status, progress, size, where it is stored, or why it failed."""
    reply = await link.ask_catalog({"op": "get_snapshot", "snapshot_id": str(snapshot_id)})
    if reply.get("ok"):
        return SnapshotPublic.model_validate(reply["snapshot"])
    if reply.get("error") != "not_found":
        raise UnavailableError(f"the catalog could not answer: {reply.get('error')}")
    request = await requests.get(snapshot_id)
    if request is None:
        raise NotFoundError(f"snapshot {snapshot_id} does not exist")
    server = await servers.get(request.server_id)
    return pending_snapshot(request, server_name=server.name if server else None)


@router.get("")
async def list_snapshots(
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    status: SnapshotStatus | None = None,
    server_id: UUID | None = None,
) -> list[SnapshotPublic]:
    """Snapshots newest first, filtered by status and by server when given."""
    query: dict[str, Any] = {"op": "list_snapshots", "status": status}
    query["server_id"] = str(server_id) if server_id else None
    reply = await link.ask_catalog(query)
    if not reply.get("ok"):
        raise UnavailableError(f"the catalog could not answer: {reply.get('error')}")
    recent = []
    if status is None:
        # Only an unfiltered listing shows whether the catalog knows a request at all.
        recent = await requests.since(utc_now() - CATALOG_LAG, server_id=server_id)
    names = {server.id: server.name for server in await servers.list()} if recent else {}
    return merge_pending(reply["snapshots"], recent, server_names=names)
