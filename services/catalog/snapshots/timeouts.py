"""When a snapshot or restore nothing moves any more must fail (the sweeper's rule). Pure."""

from datetime import datetime, timedelta
from typing import Protocol


class Tracked(Protocol):
    """A snapshot's or a restore's record: its status and when it last moved."""

    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_event_at(self) -> datetime: ...


def stuck_reason(
    record: Tracked, *, now: datetime, progress_timeout: float, pending_timeout: float
) -> str | None:
    """Why a record that no event moves any more must fail, or None while it may still move."""
    if record.status == "in_progress" and now - record.last_event_at >= _span(progress_timeout):
        return f"no progress for {progress_timeout:g} s"
    if record.status == "pending" and now - record.created_at >= _span(pending_timeout):
        return f"not started within {pending_timeout:g} s"
    return None


def _span(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
