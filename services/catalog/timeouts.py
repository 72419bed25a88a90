"""When a snapshot nothing moves any more must fail (the sweeper's rule). Pure."""

from datetime import datetime, timedelta

from services.catalog.status import SnapshotRecord


def stuck_reason(
    record: SnapshotRecord, *, now: datetime, progress_timeout: float, pending_timeout: float
) -> str | None:
    """Why a record that no event moves any more must fail, or None while it may still move."""
    if record.status == "in_progress" and now - record.last_event_at >= _span(progress_timeout):
        return f"no progress for {progress_timeout:g} s"
    if record.status == "pending" and now - record.created_at >= _span(pending_timeout):
        return f"not started within {pending_timeout:g} s"
    return None


def _span(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
