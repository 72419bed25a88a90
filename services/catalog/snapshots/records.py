"""Keeping snapshot records: fold an event, fail a snapshot, sweep the stuck ones.

Each operation runs in one transaction with the snapshot's row locked, so replicas of the
catalog serialise on a snapshot and the rules of `status.py` see a consistent record.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.catalog.snapshots.adapters import db
from services.catalog.snapshots.marks import is_mark_event, record_marks
from services.catalog.snapshots.model import SnapshotRecord
from services.catalog.snapshots.rewraps import record_rewrap
from services.catalog.snapshots.status import apply_event, fail, is_snapshot_event
from services.catalog.snapshots.timeouts import stuck_reason
from services.catalog.snapshots.warnings import add_warning
from shared.database import Conn, Pool
from shared.events import Event, SnapshotWarned

SWEEP_BATCH = 100


@dataclass(frozen=True)
class Change:
    """A record before and after one operation."""

    before: SnapshotRecord
    after: SnapshotRecord

    @property
    def status_changed(self) -> bool:
        return self.before.status != self.after.status


async def fold_snapshot_event(
    conn: Conn, schema: str, event: Event, *, now: datetime
) -> Change | None:
    """Fold `event` into its snapshot inside the caller's transaction; None when the event
    only marks or warns, or says nothing about a snapshot."""
    await record_marks(conn, schema, event)
    if is_mark_event(event):
        return None
    if isinstance(event, SnapshotWarned):
        await add_warning(conn, schema, event)  # a warning, never a status
        return None
    await record_rewrap(conn, schema, event)  # master-key rotation: KeysRewrapped only
    if not is_snapshot_event(event):
        return None
    before = await db.lock_snapshot(conn, schema, event.snapshot_id, now=now)
    after = apply_event(before, event, now=now)
    await db.save_snapshot(conn, schema, after)
    return Change(before, after)


async def fail_snapshot(
    pool: Pool, schema: str, snapshot_id: UUID, reason: str, *, now: datetime
) -> Change:
    """Fail the snapshot with `reason` unless it already ended (idempotent)."""
    async with pool.acquire() as conn, conn.transaction():
        before = await db.lock_snapshot(conn, schema, snapshot_id, now=now)
        after = fail(before, reason, at=now)
        await db.save_snapshot(conn, schema, after)
        return Change(before, after)


async def sweep(
    pool: Pool, schema: str, *, now: datetime, progress_timeout: float, pending_timeout: float
) -> list[Change]:
    """Fail every snapshot no event has moved within its timeout (or complete it, when one
    of its copies is stored)."""
    async with pool.acquire() as conn, conn.transaction():
        stuck = await db.lock_stuck_snapshots(
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
            if reason is None:
                continue
            # A snapshot with a stored copy completes; its unfinished copies go missing.
            after = fail(record, reason, at=now, missing_reason=f"timed out: {reason}")
            await db.save_snapshot(conn, schema, after)
            changes.append(Change(record, after))
        return changes
