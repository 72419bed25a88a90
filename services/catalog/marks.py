"""A snapshot's marks beside its status: the configuration that fired it, and its lock.

They live in their own columns (migration 0006), written here and never by the status
fold's UPDATE, so the fold and these writes cannot undo each other. Each write inserts a
placeholder row when the snapshot is not known yet, like the fold does, so the marks survive
any arrival order.
"""

from shared.database import Conn
from shared.events import BackupRequested, Event, SnapshotLockChanged

SET_CONFIG = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at, config_id)
VALUES ($1, 'pending', $2, $2, $3)
ON CONFLICT (id) DO UPDATE SET config_id = EXCLUDED.config_id
"""
SET_LOCK = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at, locked, lock_changed_at)
VALUES ($1, 'pending', $2, $2, $3, $2)
ON CONFLICT (id) DO UPDATE SET locked = EXCLUDED.locked, lock_changed_at = EXCLUDED.lock_changed_at
WHERE {schema}.snapshots.lock_changed_at IS NULL
   OR {schema}.snapshots.lock_changed_at <= EXCLUDED.lock_changed_at
"""


def is_mark_event(event: Event) -> bool:
    """Events whose only effect on a snapshot is a mark (not its status)."""
    return isinstance(event, SnapshotLockChanged)


async def record_marks(conn: Conn, schema: str, event: Event) -> None:
    """Keep the marks `event` carries: a backup's configuration, a lock change."""
    if isinstance(event, BackupRequested) and event.config_id is not None:
        await conn.execute(
            SET_CONFIG.format(schema=schema), event.snapshot_id, event.requested_at, event.config_id
        )
    elif isinstance(event, SnapshotLockChanged):
        await conn.execute(
            SET_LOCK.format(schema=schema), event.snapshot_id, event.occurred_at, event.locked
        )
