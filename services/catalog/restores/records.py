"""Keeping restore records: fold an event, fail a restore, sweep the stuck ones.

Each operation runs in one transaction with the restore's row locked. When a verify ends,
its outcome is written onto its snapshot in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.catalog.restores.adapters import db
from services.catalog.restores.status import (
    RestoreEvent,
    RestoreRecord,
    apply_restore_event,
    ended,
    fail_restore,
    verification,
)
from services.catalog.snapshots.timeouts import stuck_reason
from shared.database import Conn, Pool
from shared.logging import get_logger

log = get_logger(__name__)

SWEEP_BATCH = 100


@dataclass(frozen=True)
class RestoreChange:
    """A restore record before and after one operation."""

    before: RestoreRecord
    after: RestoreRecord

    @property
    def status_changed(self) -> bool:
        return self.before.status != self.after.status


async def fold_restore(
    conn: Conn, schema: str, event: RestoreEvent, *, now: datetime
) -> RestoreChange:
    """Fold `event` into its restore (inside the caller's transaction)."""
    before = await db.lock_restore(conn, schema, event.restore_id, event.snapshot_id, now=now)
    after = apply_restore_event(before, event, now=now)
    return await _save(conn, schema, RestoreChange(before, after))


async def _save(conn: Conn, schema: str, change: RestoreChange) -> RestoreChange:
    await db.save_restore(conn, schema, change.after)
    if ended(change.before, change.after):
        outcome = verification(change.after)
        if outcome is not None:
            at, result = outcome
            await db.set_verification(conn, schema, change.after.snapshot_id, at=at, result=result)
    if change.status_changed:
        log.info(
            "restore_status_changed",
            restore_id=str(change.after.id),
            snapshot_id=str(change.after.snapshot_id),
            status=change.after.status,
            error=change.after.error,
        )
    return change


async def fail_restore_now(
    pool: Pool, schema: str, restore_id: UUID, snapshot_id: UUID, reason: str, *, now: datetime
) -> RestoreChange:
    """Fail the restore with `reason` unless it already ended (idempotent)."""
    async with pool.acquire() as conn, conn.transaction():
        before = await db.lock_restore(conn, schema, restore_id, snapshot_id, now=now)
        return await _save(
            conn, schema, RestoreChange(before, fail_restore(before, reason, at=now))
        )


async def sweep_restores(
    pool: Pool, schema: str, *, now: datetime, progress_timeout: float, pending_timeout: float
) -> list[RestoreChange]:
    """Fail every restore no event has moved within its timeout."""
    async with pool.acquire() as conn, conn.transaction():
        stuck = await db.lock_stuck_restores(
            conn,
            schema,
            silent_since=now - timedelta(seconds=progress_timeout),
            pending_since=now - timedelta(seconds=pending_timeout),
            limit=SWEEP_BATCH,
        )
        changes = []
        for record in stuck:
            reason = stuck_reason(
                record, now=now, progress_timeout=progress_timeout, pending_timeout=pending_timeout
            )
            if reason is not None:
                after = fail_restore(record, reason, at=now)
                changes.append(await _save(conn, schema, RestoreChange(record, after)))
        return changes
