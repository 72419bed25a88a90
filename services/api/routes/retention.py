"""Locks, pruning and volume usage: /snapshots/{id}/lock|unlock,
/backup-configs/{id}/prune, /volumes/{id}/usage."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.api.deps import (
    Authenticated,
    Link,
    Locks,
    OutboxTable,
    Relay,
    Requests,
    RetentionConfigList,
    SecretKeys,
    Servers,
    Settings,
    Volumes,
)
from services.api.quotas import volume_report
from services.api.schemas.retention import PruneResult, SnapshotLockPublic, VolumeUsageReport
from services.api.usecases.pruning import PruneTools
from services.api.usecases.pruning import prune_config as prune_config_now
from services.api.usecases.snapshots import change_lock
from services.api.usecases.volumes import find_volume

router = APIRouter(prefix="/api/v1", dependencies=[Authenticated])


@router.post("/snapshots/{snapshot_id}/lock", tags=["snapshots"])
async def lock_snapshot(
    snapshot_id: UUID,
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    locks: Locks,
    relay: Relay,
) -> SnapshotLockPublic:
    """Lock a snapshot: retention never prunes it, and DELETE refuses it (409) until unlocked."""
    await change_lock(
        snapshot_id,
        locked=True,
        link=link,
        requests=requests,
        servers=servers,
        locks=locks,
        relay=relay,
    )
    return SnapshotLockPublic(id=snapshot_id, locked=True)


@router.post("/snapshots/{snapshot_id}/unlock", tags=["snapshots"])
async def unlock_snapshot(
    snapshot_id: UUID,
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    locks: Locks,
    relay: Relay,
) -> SnapshotLockPublic:
    """Unlock a snapshot: retention and DELETE may remove it again."""
    await change_lock(
        snapshot_id,
        locked=False,
        link=link,
        requests=requests,
        servers=servers,
        locks=locks,
        relay=relay,
    )
    return SnapshotLockPublic(id=snapshot_id, locked=False)


@router.post("/backup-configs/{config_id}/prune", tags=["backup-configs"])
async def prune_config(
    config_id: UUID,
    *,
    configs: RetentionConfigList,
    link: Link,
    locks: Locks,
    volumes: Volumes,
    keys: SecretKeys,
    outbox: OutboxTable,
    relay: Relay,
    dry_run: Annotated[bool, Query(description="Only list what would go (the default).")] = True,
) -> PruneResult:
    """Apply the configuration's retention policy, per database: `delete` lists the completed
    snapshots it prunes, `keep` the others with the rules that keep them. With
    `dry_run=true` (the default) nothing is deleted. With `dry_run=false` every pruned
    snapshot's artifact and manifest are removed from each volume holding a copy, then its
    record becomes `deleted`, as DELETE /snapshots/{id} does. The newest completed snapshot of
    each database and every locked one are always kept."""
    tools = PruneTools(link, locks, volumes, keys, outbox, relay, configs)
    return await prune_config_now(config_id, tools, dry_run=dry_run)


@router.get("/volumes/{volume_id}/usage", tags=["volumes"])
async def get_volume_usage(
    volume_id: UUID, *, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> VolumeUsageReport:
    """Bytes used by the volume's completed snapshots (catalog), free bytes where the backend
    tells it (local disks; null for S3 and when the uploader does not answer in time), and
    its quota."""
    volume = await find_volume(volume_id, volumes)
    return await volume_report(volume, link=link, keys=keys, wait=settings.usage_timeout)
