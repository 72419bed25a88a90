"""Record each event once and fold it into the half of the catalog it is about."""

from datetime import datetime

from services.catalog.restores.records import fold_restore
from services.catalog.restores.status import RESTORE_EVENTS
from services.catalog.snapshots.adapters.db import record_timeline
from services.catalog.snapshots.records import Change, fold_snapshot_event
from shared.adapters.idempotency import handle_once
from shared.database import Pool
from shared.events import Event


async def record_event(pool: Pool, schema: str, event: Event, *, now: datetime) -> Change | None:
    """Fold `event` into its snapshot (or restore) once; None for a duplicate, a restore
    event or an event that moves no snapshot's status."""
    async with handle_once(pool, schema=schema, event_id=event.event_id) as conn:
        if conn is None:
            return None
        # A snapshot's timeline shows every event about it, its restores' too.
        await record_timeline(conn, schema, event)
        if isinstance(event, RESTORE_EVENTS):
            await fold_restore(conn, schema, event, now=now)
            return None
        return await fold_snapshot_event(conn, schema, event, now=now)
