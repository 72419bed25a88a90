"""Snapshots: find and list them as the catalog records them; delete, cancel, lock, unlock."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import BackupRequests, Outbox
from services.api.asking import ask_catalog_for_one, ask_catalog_for_page
from services.api.errors import ConflictError, NotFoundError
from services.api.keys import Keys
from services.api.schemas import SnapshotDetail, SnapshotPage
from services.api.schemas.snapshots import SnapshotSort
from services.api.snapshots import merge_pending, pending_snapshot
from services.api.usecases.snapshot_deletion import deletion_events
from services.api.workers.relay import OutboxRelay
from shared.events import SnapshotCancelRequested, SnapshotLockChanged, SnapshotStatus, utc_now
from shared.logging import get_logger
from shared.queries import GetSnapshot, ListSnapshots
from shared.queries.cursors import encode_position

log = get_logger(__name__)

CATALOG_LAG = timedelta(minutes=15)
"""How far back accepted requests are merged into a listing while the catalog catches up."""
DEFAULT_SORT: SnapshotSort = "-created_at"
RUNNING = ("pending", "in_progress")


async def find_snapshot(
    snapshot_id: UUID, *, link: BrokerLink, requests: BackupRequests, servers: ServerRepository
) -> SnapshotDetail:
    """The catalog's snapshot, or the accepted request it has not recorded yet; else 404."""
    reply = await ask_catalog_for_one(link, GetSnapshot(snapshot_id=snapshot_id))
    if reply is not None:
        return SnapshotDetail.model_validate(reply.snapshot)
    request = await requests.get(snapshot_id)
    if request is None:
        raise NotFoundError(f"snapshot {snapshot_id} does not exist")
    server = await servers.get(request.server_id)
    pending = pending_snapshot(request, server_name=server.name if server else None)
    return SnapshotDetail.model_validate(pending.model_dump())


async def list_snapshots(
    *,
    link: BrokerLink,
    requests: BackupRequests,
    servers: ServerRepository,
    server_id: UUID | None = None,
    database: str | None = None,
    volume_id: UUID | None = None,
    status: SnapshotStatus | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: SnapshotSort = DEFAULT_SORT,
    limit: int = 50,
    cursor: str | None = None,
) -> SnapshotPage:
    """One page of the catalog's snapshots; the first page of an unfiltered listing also
    shows the requests the catalog has not recorded yet, newest first, `limit` rows at most."""
    filters: dict[str, Any] = {
        "server_id": server_id,
        "database": database,
        "volume_id": volume_id,
        "status": status,
        "created_from": _aware(created_from),
        "created_to": _aware(created_to),
    }
    query = ListSnapshots(sort=sort, limit=limit, cursor=cursor, **filters)
    reply = await ask_catalog_for_page(link, query)
    recent = []
    if cursor is None and sort == DEFAULT_SORT and all(v is None for v in filters.values()):
        # Only the first page of an unfiltered listing shows requests the catalog has not
        # recorded yet (it may lag the outbox by a moment).
        recent = await requests.since(utc_now() - CATALOG_LAG, server_id=None, limit=limit)
    if not recent:
        return SnapshotPage(items=merge_pending(reply.snapshots, []), next_cursor=reply.next_cursor)
    names = {server.id: server.name for server in await servers.list()}
    merged = merge_pending(reply.snapshots, recent, server_names=names)
    shown = merged[:limit]
    recorded = {UUID(str(item["id"])) for item in reply.snapshots}
    if len(recorded & {s.id for s in shown}) == len(recorded):
        return SnapshotPage(items=shown, next_cursor=reply.next_cursor)
    # Recorded rows were pushed off this page by newer requests: the next page starts right
    # after the last row shown, so none of them is skipped.
    last = shown[-1]
    return SnapshotPage(items=shown, next_cursor=encode_position(sort, last.created_at, last.id))


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def delete_snapshot(
    snapshot_id: UUID,
    *,
    link: BrokerLink,
    requests: BackupRequests,
    servers: ServerRepository,
    volumes: VolumeRepository,
    outbox: Outbox,
    relay: OutboxRelay,
    keys: Keys,
    locks: SnapshotLocks,
) -> None:
    """Request the deletion of a finished, unlocked snapshot no restore is reading."""
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
    # One SnapshotDeleteRequested per stored copy, the same as pruning's.
    for event in await deletion_events(snapshot, volumes=volumes, keys=keys):
        await outbox.add(event)
    relay.wake()
    log.info("snapshot_delete_requested", snapshot_id=str(snapshot_id))


async def cancel_snapshot(
    snapshot_id: UUID,
    *,
    link: BrokerLink,
    requests: BackupRequests,
    servers: ServerRepository,
    outbox: Outbox,
    relay: OutboxRelay,
) -> None:
    """Request that a pending or running backup stops (ConflictError once it finished)."""
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    if snapshot.status not in RUNNING:
        raise ConflictError(f"snapshot {snapshot_id} is {snapshot.status}; nothing to cancel")
    await outbox.add(SnapshotCancelRequested(snapshot_id=snapshot_id))
    relay.wake()
    log.info("snapshot_cancel_requested", snapshot_id=str(snapshot_id))


async def change_lock(
    snapshot_id: UUID,
    *,
    locked: bool,
    link: BrokerLink,
    requests: BackupRequests,
    servers: ServerRepository,
    locks: SnapshotLocks,
    relay: OutboxRelay,
) -> None:
    """Lock (retention and deletion leave it alone) or unlock a snapshot not deleted."""
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    if snapshot.status == "deleted":
        raise ConflictError(f"snapshot {snapshot_id} is deleted; there is nothing to lock")
    await locks.change(SnapshotLockChanged(snapshot_id=snapshot_id, locked=locked))
    relay.wake()
    log.info("snapshot_lock_changed", snapshot_id=str(snapshot_id), locked=locked)
