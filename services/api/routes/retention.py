"""Locks, pruning and volume usage: /snapshots/{id}/lock|unlock,
/backup-configs/{id}/prune, /volumes/{id}/usage."""

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.api.adapters.retention import RetentionConfigs
from services.api.deps import (
    Authenticated,
    Link,
    Locks,
    OutboxTable,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Settings,
    Volumes,
    get_settings,
)
from services.api.errors import ConflictError, NotFoundError
from services.api.pruning import PrunePlan, PruneTools, delete_pruned, plan_pruning
from services.api.quotas import volume_report
from services.api.retention import SnapshotFacts
from services.api.routes.snapshots import find_snapshot
from services.api.schemas.retention import (
    PrunedSnapshot,
    PruneResult,
    SnapshotLockPublic,
    VolumeUsageReport,
)
from shared.events import SnapshotLockChanged, utc_now
from shared.logging import get_logger

router = APIRouter(prefix="/api/v1", dependencies=[Authenticated])
log = get_logger(__name__)


def get_retention_configs(request: Request) -> RetentionConfigs:
    return RetentionConfigs(request.app.state.runtime.pool, get_settings(request).schema_name)


Configs = Annotated[RetentionConfigs, Depends(get_retention_configs)]


@dataclass(frozen=True)
class LockChanges:
    """What locking and unlocking need; FastAPI fills the fields as dependencies."""

    link: Link
    requests: Requests
    servers: Servers
    locks: Locks
    relay: Relay

    async def change(self, snapshot_id: UUID, *, locked: bool) -> SnapshotLockPublic:
        snapshot = await find_snapshot(
            snapshot_id, link=self.link, requests=self.requests, servers=self.servers
        )
        if snapshot.status == "deleted":
            raise ConflictError(f"snapshot {snapshot_id} is deleted; there is nothing to lock")
        await self.locks.change(SnapshotLockChanged(snapshot_id=snapshot_id, locked=locked))
        self.relay.wake()
        log.info("snapshot_lock_changed", snapshot_id=str(snapshot_id), locked=locked)
        return SnapshotLockPublic(id=snapshot_id, locked=locked)


LockChanger = Annotated[LockChanges, Depends()]


@router.post("/snapshots/{snapshot_id}/lock", tags=["snapshots"])
async def lock_snapshot(snapshot_id: UUID, changes: LockChanger) -> SnapshotLockPublic:
    """Lock a snapshot: retention never prunes it, and DELETE refuses it (409) until unlocked."""
    return await changes.change(snapshot_id, locked=True)


@router.post("/snapshots/{snapshot_id}/unlock", tags=["snapshots"])
async def unlock_snapshot(snapshot_id: UUID, changes: LockChanger) -> SnapshotLockPublic:
    """Unlock a snapshot: retention and DELETE may remove it again."""
    return await changes.change(snapshot_id, locked=False)


@router.post("/backup-configs/{config_id}/prune", tags=["backup-configs"])
async def prune_config(
    config_id: UUID,
    *,
    configs: Configs,
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
    config = await configs.get(config_id)
    if config is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    tools = PruneTools(link, locks, volumes, keys, outbox, relay, configs)
    plan = await plan_pruning(config, tools, now=utc_now())
    deleted = plan.decision.delete
    if not dry_run:
        requested = set(await delete_pruned(plan, tools))
        deleted = [s for s in deleted if s.id in requested]
        log.info("config_pruned", config_id=str(config_id), deleted=len(deleted))
    return PruneResult(
        dry_run=dry_run,
        delete=[_summary(plan, s) for s in deleted],
        keep=[_summary(plan, s) for s in plan.decision.keep],
    )


def _summary(plan: PrunePlan, snapshot: SnapshotFacts) -> PrunedSnapshot:
    item = plan.snapshots[snapshot.id]
    return PrunedSnapshot(
        id=snapshot.id,
        server_id=snapshot.server_id,
        server_name=item.get("server_name"),
        database=snapshot.database,
        created_at=snapshot.created_at,
        size=item.get("size"),
        locked=snapshot.locked,
        reasons=plan.decision.reasons.get(snapshot.id, []),
    )


@router.get("/volumes/{volume_id}/usage", tags=["volumes"])
async def get_volume_usage(
    volume_id: UUID, *, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> VolumeUsageReport:
    """Bytes used by the volume's completed snapshots (catalog), free bytes where the backend
    tells it (local disks; null for S3 and when the uploader does not answer in time), and
    its quota."""
    volume = await volumes.get(volume_id)
    if volume is None:
        raise NotFoundError(f"volume {volume_id} does not exist")
    return await volume_report(volume, link=link, keys=keys, wait=settings.usage_timeout)
