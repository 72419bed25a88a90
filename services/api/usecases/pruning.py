"""Pruning a backup configuration's snapshots by its retention policy.

The catalog lists the configuration's completed snapshots; `retention.decide_retention`
picks what goes; each pruned snapshot is deleted like DELETE /snapshots/{id} does it: one
SnapshotDeleteRequested per stored copy through the outbox (the uploader removes artifact
and manifest from that volume, then the catalog marks the record `deleted`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import Outbox
from services.api.adapters.retention import RetentionConfig, RetentionConfigs
from services.api.asking import ask
from services.api.errors import ConflictError, NotFoundError
from services.api.keys import Keys
from services.api.retention import RetentionDecision, SnapshotFacts, decide_retention
from services.api.schemas import SnapshotDetail
from services.api.schemas.retention import PrunedSnapshot, PruneResult
from services.api.usecases.snapshot_deletion import deletion_events
from services.api.workers.relay import OutboxRelay
from shared.events import utc_now
from shared.logging import get_logger
from shared.queries import GetSnapshot, RetentionCandidates

log = get_logger(__name__)
RUNNING = ("pending", "in_progress")
REQUEST_GRACE = timedelta(minutes=10)
"""A deletion requested this recently is not asked again: it is still being carried out
(a failed one leaves `delete_error` on the snapshot, and is retried after this long)."""


@dataclass(frozen=True)
class PruneTools:
    """What pruning talks to: the catalog, the api's locks, volumes, keys and the outbox."""

    link: BrokerLink
    locks: SnapshotLocks
    volumes: VolumeRepository
    keys: Keys
    outbox: Outbox
    relay: OutboxRelay
    configs: RetentionConfigs


@dataclass(frozen=True)
class PrunePlan:
    """A decision and the catalog's snapshot JSON of every snapshot it names."""

    decision: RetentionDecision
    snapshots: dict[UUID, dict[str, Any]]


async def plan_pruning(config: RetentionConfig, tools: PruneTools, *, now: datetime) -> PrunePlan:
    """What `config`'s retention keeps and deletes now; the api's own locks count too."""
    reply = await ask(tools.link, RetentionCandidates(config_id=config.id))
    items = reply.snapshots
    ids = [UUID(item["id"]) for item in items]
    api_locks = await tools.locks.known(ids)
    facts = [
        _facts(item, locked=api_locks.get(snapshot_id, bool(item.get("locked"))))
        for snapshot_id, item in zip(ids, items, strict=True)
    ]
    decision = decide_retention(facts, config.policy, now=now, zone=ZoneInfo(config.timezone))
    return PrunePlan(decision, {s.id: item for s, item in zip(facts, items, strict=True)})


def _facts(item: dict[str, Any], *, locked: bool) -> SnapshotFacts:
    return SnapshotFacts(
        id=UUID(item["id"]),
        server_id=UUID(item["server_id"]),
        database=item["database"],
        created_at=datetime.fromisoformat(item["created_at"]),
        locked=locked,
        status=item["status"],
    )


async def delete_pruned(plan: PrunePlan, tools: PruneTools) -> list[UUID]:
    """Request the deletion of every pruned snapshot still prunable; the ids requested.

    Each is read again first: one locked, being restored or no longer completed since the
    plan was made is skipped (the next pass decides again).
    """
    requested: list[UUID] = []
    asked = [s.id for s in plan.decision.delete]
    deleting = await tools.configs.deleting(asked, within=REQUEST_GRACE) if asked else set()
    for planned in plan.decision.delete:
        if planned.id in deleting:
            log.info("prune_skipped", snapshot_id=str(planned.id), reason="deletion requested")
            continue
        snapshot = await _current(planned.id, tools)
        reason = _not_prunable(snapshot, locked=await _locked(snapshot, tools))
        if reason is not None:
            log.info("prune_skipped", snapshot_id=str(planned.id), reason=reason)
            continue
        try:
            events = await deletion_events(snapshot, volumes=tools.volumes, keys=tools.keys)
        except ConflictError as exc:
            log.warning("prune_skipped", snapshot_id=str(planned.id), reason=str(exc))
            continue
        for event in events:
            await tools.outbox.add(event)
        requested.append(planned.id)
        log.info("snapshot_pruned", snapshot_id=str(planned.id), database=planned.database)
    if requested:
        tools.relay.wake()
    return requested


async def _current(snapshot_id: UUID, tools: PruneTools) -> SnapshotDetail:
    reply = await ask(tools.link, GetSnapshot(snapshot_id=snapshot_id))
    return SnapshotDetail.model_validate(reply.snapshot)


async def _locked(snapshot: SnapshotDetail, tools: PruneTools) -> bool:
    return await tools.locks.is_locked(snapshot.id, catalog_says=snapshot.locked)


def _not_prunable(snapshot: SnapshotDetail, *, locked: bool) -> str | None:
    if locked:
        return "locked"
    if snapshot.status != "completed":
        return f"status {snapshot.status}"
    if any(restore.status in RUNNING for restore in snapshot.restores):
        return "being restored"
    return None


async def prune_config(config_id: UUID, tools: PruneTools, *, dry_run: bool) -> PruneResult:
    """Apply the configuration's retention policy now: what it deletes and what it keeps,
    and with `dry_run` false, the deletion of every pruned snapshot requested."""
    config = await tools.configs.get(config_id)
    if config is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
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
