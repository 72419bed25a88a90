"""/api/v1/snapshots: the state of every backup as the catalog records it; delete, cancel."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

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
from services.api.schemas import SnapshotDetail, SnapshotPage
from services.api.schemas._text import PRINTABLE
from services.api.schemas.snapshots import SnapshotActionAccepted, SnapshotSort
from services.api.usecases import snapshots as usecases
from shared.events import SnapshotStatus

router = APIRouter(prefix="/api/v1/snapshots", tags=["snapshots"], dependencies=[Authenticated])


@router.get("/{snapshot_id}")
async def get_snapshot(
    snapshot_id: UUID, *, link: Link, requests: Requests, servers: Servers
) -> SnapshotDetail:
    """One snapshot: status, progress, sizes, sha256, duration, where it is stored, the
    manifest, why it failed, and the timeline of events that led there."""
    return await usecases.find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)


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
    sort: SnapshotSort = usecases.DEFAULT_SORT,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000, pattern=PRINTABLE)] = None,
) -> SnapshotPage:
    """Snapshots, newest first by default, one page at a time.

    Filters combine: `server_id`, `database`, `volume_id`, `status` (deleted snapshots show
    only when `status=deleted` is asked), and the creation range `created_from` ..
    `created_to` (ISO 8601; without a zone, UTC). Sort by `created_at` or `size`, `-` for
    descending. Pass `next_cursor` back as `cursor` for the next page; it is null on the last.
    """
    return await usecases.list_snapshots(
        link=link,
        requests=requests,
        servers=servers,
        server_id=server_id,
        database=database,
        volume_id=volume_id,
        status=status,
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


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
    await usecases.delete_snapshot(
        snapshot_id,
        link=link,
        requests=requests,
        servers=servers,
        volumes=volumes,
        outbox=outbox,
        relay=relay,
        keys=keys,
        locks=locks,
    )
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
    await usecases.cancel_snapshot(
        snapshot_id, link=link, requests=requests, servers=servers, outbox=outbox, relay=relay
    )
    return SnapshotActionAccepted(id=snapshot_id, status="cancelling")
