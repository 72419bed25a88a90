"""The Snapshots table's filters and pages, read from the query string. Pure."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args
from urllib.parse import urlencode
from uuid import UUID

from shared.events import SnapshotStatus

PAGE_SIZE = 25
STATUSES: tuple[str, ...] = get_args(SnapshotStatus)
RUNNING = ("pending", "in_progress")


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SnapshotFilters:
    """What the user filtered by; values a browser cannot have meant are dropped."""

    server_id: UUID | None = None
    database: str | None = None
    volume_id: UUID | None = None
    status: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    cursor: str | None = None

    @classmethod
    def of(cls, query: dict[str, str]) -> "SnapshotFilters":
        status = query.get("status") or None
        return cls(
            server_id=_uuid(query.get("server_id")),
            database=(query.get("database") or "").strip()[:255] or None,
            volume_id=_uuid(query.get("volume_id")),
            status=status if status in STATUSES else None,
            day_from=_day(query.get("from")),
            day_to=_day(query.get("to")),
            cursor=(query.get("cursor") or None),
        )

    def api_filters(self) -> dict[str, Any]:
        """The keyword arguments of the JSON route's listing (dates as UTC day bounds)."""
        return {
            "server_id": self.server_id,
            "database": self.database,
            "volume_id": self.volume_id,
            "status": self.status,
            "created_from": datetime.combine(self.day_from, time(), UTC) if self.day_from else None,
            "created_to": datetime.combine(self.day_to + timedelta(days=1), time(), UTC)
            if self.day_to
            else None,
            "cursor": self.cursor,
            "limit": PAGE_SIZE,
        }

    def query(self, *, cursor: str | None = None, keep_cursor: bool = True) -> str:
        """The query string of these filters, on this page or on `cursor`'s."""
        values = {
            "server_id": self.server_id,
            "database": self.database,
            "volume_id": self.volume_id,
            "status": self.status,
            "from": self.day_from,
            "to": self.day_to,
            "cursor": cursor or (self.cursor if keep_cursor else None),
        }
        return urlencode({k: str(v) for k, v in values.items() if v})

    @property
    def active(self) -> bool:
        return any(
            (self.server_id, self.database, self.volume_id, self.status, self.day_from, self.day_to)
        )


def poll_every(statuses: list[str]) -> str:
    """Quicker while something runs, so progress moves; slower when all is quiet."""
    return "every 1s" if any(status in RUNNING for status in statuses) else "every 3s"


def share(done: int, estimate: int | None) -> float | None:
    """Percent of the last completed backup's size (held below 100 until it ends)."""
    if not estimate:
        return None
    return round(min(99.0, 100 * done / estimate), 1)


@dataclass(frozen=True)
class Estimate:
    """A running dump against the last completed one of its database."""

    percent: float
    seconds_left: float | None


def estimate(
    done: int, last: int | None, started_at: datetime | None, *, now: datetime | None = None
) -> Estimate | None:
    """How far along and how long left, at the average rate since `started_at`; None
    without a last size, and no time left once the dump is past it or has not moved."""
    percent = share(done, last)
    if percent is None or last is None:
        return None
    elapsed = ((now or datetime.now(UTC)) - started_at).total_seconds() if started_at else 0
    if done <= 0 or elapsed <= 0 or done >= last:
        return Estimate(percent, seconds_left=None)
    return Estimate(percent, seconds_left=round((last - done) * elapsed / done, 1))
