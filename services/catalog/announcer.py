"""Tell the world when a snapshot's status changed (SnapshotStatusChanged), best effort."""

from services.catalog.snapshots.records import Change
from shared.events import SnapshotStatusChanged
from shared.logging import get_logger
from shared.messaging import Publish

log = get_logger(__name__)


async def announce(publish: Publish, changes: list[Change]) -> None:
    """Publish one SnapshotStatusChanged per status change; a failure is only logged,
    because the record itself is already durable and the announcement is informative."""
    for change in changes:
        if not change.status_changed:
            continue
        record = change.after
        log.info(
            "snapshot_status_changed",
            snapshot_id=str(record.id),
            status=record.status,
            error=record.error,
        )
        event = SnapshotStatusChanged(
            snapshot_id=record.id, status=record.status, error=record.error
        )
        try:
            await publish(event)
        except Exception:
            log.exception("status_change_not_announced", snapshot_id=str(record.id))
