"""A snapshot's marks beside its status: the configuration that fired it, and its lock.

They live in their own columns (migration 0006), never touched by the status fold, so the
marks survive any arrival order of the events.
"""

from services.catalog.snapshots.adapters import marks as db
from shared.database import Conn
from shared.events import BackupRequested, Event, SnapshotLockChanged


def is_mark_event(event: Event) -> bool:
    """Events whose only effect on a snapshot is a mark (not its status)."""
    return isinstance(event, SnapshotLockChanged)


async def record_marks(conn: Conn, schema: str, event: Event) -> None:
    """Keep the marks `event` carries: a backup's configuration, a lock change."""
    if isinstance(event, BackupRequested) and event.config_id is not None:
        await db.set_config(
            conn, schema, event.snapshot_id, at=event.requested_at, config_id=event.config_id
        )
    elif isinstance(event, SnapshotLockChanged):
        await db.set_lock(
            conn, schema, event.snapshot_id, at=event.occurred_at, locked=event.locked
        )
