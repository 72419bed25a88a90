"""/api/v1/snapshots: the state of every backup as the catalog records it; delete, cancel."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.api.asking import ask
from services.api.deps import (
    Authenticated,
    Link,
    Locks,
    OutboxTable,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Volumes,
)
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError, RefusedError
from services.api.schemas import SnapshotDetail, SnapshotPage
from services.api.schemas._text import PRINTABLE
from services.api.schemas.snapshots import SnapshotActionAccepted, SnapshotSort
from services.api.snapshot_deletion import deletion_events
from services.api.snapshots import merge_pending, pending_snapshot
from shared.events import SnapshotCancelRequested, SnapshotStatus, utc_now
from shared.logging import get_logger
from shared.queries import GetSnapshot, ListSnapshots

router = APIRouter(prefix="/api/v1/snapshots", tags=["snapshots"], dependencies=[Authenticated])
log = get_logger(__name__)

CATALOG_LAG = timedelta(minutes=15)
"""How far back accepted requests are merged into a listing while the catalog catches up."""
DEFAULT_SORT: SnapshotSort = "-created_at"
RUNNING = ("pending", "in_progress")


async def find_snapshot(
    snapshot_id: UUID, *, link: Link, requests: Requests, servers: Servers
) -> SnapshotDetail:
    """The catalog's snapshot, or the accepted request it has not recorded yet; else 404."""
    try:
        reply = await ask(link, GetSnapshot(snapshot_id=snapshot_id))
    except RefusedError as exc:
        if not exc.not_found:
            raise
    else:
        return SnapshotDetail.model_validate(reply.snapshot)
    request = await requests.get(snapshot_id)
    if request is None:
        raise NotFoundError(f"snapshot {snapshot_id} does not exist")
    server = await servers.get(request.server_id)
    pending = pending_snapshot(request, server_name=server.name if server else None)
    return SnapshotDetail.model_validate(pending.model_dump())


@router.get("/{snapshot_id}")
async def get_snapshot(
    snapshot_id: UUID, *, link: Link, requests: Requests, servers: Servers
) -> SnapshotDetail:
    """One snapshot: status, progress, sizes, sha256, duration, where it is stored, the
    manifest, why it failed, and the timeline of events that led there."""
    return await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)


@router.get("")
async def list_snapshots(
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    server_id: UUID | None = None,
    database: Annotated[str | None, Query(min_length=1, max_length=255, pattern=PRINTABLE)] = None,
    volume_id: UUID | None = None,
    status: SnapshotStatus | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: SnapshotSort = DEFAULT_SORT,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000, pattern=PRINTABLE)] = None,
) -> SnapshotPage:
    """Snapshots, newest first by default, one page at a time.

    Filters combine: `server_id`, `database`, `volume_id`, `status` (deleted snapshots show
    only when `status=deleted` is asked), and the creation range `created_from` ..
    `created_to` (ISO 8601; without a zone, UTC). Sort by `created_at` or `size`, `-` for
    descending. Pass `next_cursor` back as `cursor` for the next page; it is null on the last.
    """
    filters: dict[str, Any] = {
        "server_id": server_id,
        "database": database,
        "volume_id": volume_id,
        "status": status,
        "created_from": _aware(created_from),
        "created_to": _aware(created_to),
    }
    query = ListSnapshots(sort=sort, limit=limit, cursor=cursor, **filters)
    try:
        reply = await ask(link, query)
    except RefusedError as exc:
        if exc.invalid:
            raise InvalidRequestError(f"the catalog refused the listing: {exc.reason}") from None
        raise
    recent = []
    if cursor is None and sort == DEFAULT_SORT and all(v is None for v in filters.values()):
        # Only the first page of an unfiltered listing shows requests the catalog has not
        # recorded yet (it may lag the outbox by a moment).
        recent = await requests.since(utc_now() - CATALOG_LAG, server_id=None)
    names = {server.id: server.name for server in await servers.list()} if recent else {}
    return SnapshotPage(
        items=merge_pending(reply.snapshots, recent, server_names=names),
        next_cursor=reply.next_cursor,
    )


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@router.delete("/{snapshot_id}", status_code=status.HTTP_202_ACCEPTED)
async def delete_snapshot(
    snapshot_id: UUID,
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    volumes: Volumes,
    outbox: OutboxTable,
    relay: Relay,
    keys: SecretKeys,
    locks: Locks,
) -> SnapshotActionAccepted:
    """Delete a finished snapshot: its artifact and manifest are removed from every volume
    holding a copy, then its status becomes `deleted`. Refused (409) while it is pending or
    in progress, or while a restore or verify of it is, or while it is locked."""
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    if snapshot.status in RUNNING:
        raise ConflictError(
            f"snapshot {snapshot_id} is {snapshot.status}; cancel it before deleting it"
        )
    if snapshot.status == "deleted":
        raise ConflictError(f"snapshot {snapshot_id} is already deleted")
    if await locks.is_locked(snapshot_id, catalog_says=snapshot.locked):
        raise ConflictError("snapshot is locked: unlock it before deleting it")
    restoring = [r.id for r in snapshot.restores if r.status in RUNNING]
    if restoring:
        raise ConflictError(
            f"snapshot {snapshot_id} is being restored (restore {restoring[0]}); "
            "wait for the restore to finish before deleting it"
        )
    # One SnapshotDeleteRequested per stored copy (issue 8), the same as pruning's.
    for event in await deletion_events(snapshot, volumes=volumes, keys=keys):
        await outbox.add(event)
    relay.wake()
    log.info("snapshot_delete_requested", snapshot_id=str(snapshot_id))
    return SnapshotActionAccepted(id=snapshot_id, status="deleting")


@router.post("/{snapshot_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_snapshot(
    snapshot_id: UUID,
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    outbox: OutboxTable,
    relay: Relay,
) -> SnapshotActionAccepted:
    """Stop a pending or running backup: the dump ends, its staged parts are cleaned, and the
    status becomes `failed` with "cancelled". Refused (409) once the snapshot has finished."""
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    if snapshot.status not in RUNNING:
        raise ConflictError(f"snapshot {snapshot_id} is {snapshot.status}; nothing to cancel")
    await outbox.add(SnapshotCancelRequested(snapshot_id=snapshot_id))
    relay.wake()
    log.info("snapshot_cancel_requested", snapshot_id=str(snapshot_id))
    return SnapshotActionAccepted(id=snapshot_id, status="cancelling")
