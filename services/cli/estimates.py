"""How far a backup is, against the dump size of its database's last completed snapshot.

That size is an estimate (a database grows and shrinks), so the percentage is held below 100
until the snapshot completes, and the time left is given only while the dump is behind it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.cli.client import Client
from services.cli.errors import CliError

HELD_BELOW = 99.0
"""The most an estimated percentage shows: only a completed snapshot is at 100."""


@dataclass(frozen=True)
class Estimate:
    """The expected total and what follows from it; None where nothing is known."""

    expected_bytes: int | None
    percent: float | None
    eta_seconds: float | None
    estimate: bool
    """True while percent and ETA rest on the last snapshot's size, not on the end."""


def estimate_of(done: int, *, status: str, expected: int | None, rate: float | None) -> Estimate:
    """Percent and seconds left of a snapshot with `done` bytes dumped at `rate` bytes/s."""
    if status == "completed":
        return Estimate(expected, percent=100.0, eta_seconds=0.0, estimate=False)
    if not expected or status not in {"pending", "in_progress"}:
        return Estimate(expected, percent=None, eta_seconds=None, estimate=False)
    percent = round(min(HELD_BELOW, 100 * done / expected), 1)
    eta = round((expected - done) / rate, 1) if rate and done < expected else None
    return Estimate(expected, percent=percent, eta_seconds=eta, estimate=True)


class RateMeter:
    """Bytes per second of one dump since it was first seen running.

    Measured on this machine's clock from what it polled, so a server clock that is off
    changes nothing; None until two samples show bytes moving.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first: tuple[float, int] | None = None

    def rate(self, done: int) -> float | None:
        now = self._clock()
        if self._first is None:
            self._first = (now, done)
            return None
        began, first_done = self._first
        if now <= began or done <= first_done:
            return None
        return (done - first_done) / (now - began)


def last_dumped(client: Client, snapshot: dict[str, Any]) -> int | None:
    """Bytes dumped by the newest completed snapshot of the same server and database.

    None when there is none, or when the API cannot say: an estimate never stops a wait.
    """
    if not snapshot.get("server_id") or not snapshot.get("database"):
        return None
    params = {
        "server_id": snapshot["server_id"],
        "database": snapshot["database"],
        "status": "completed",
        "limit": 1,
    }
    try:
        items = client.get("/api/v1/snapshots", params=params).get("items") or []
    except CliError:
        return None
    if not items:
        return None
    return int(items[0]["bytes_dumped"]) or None  # an empty dump gives no scale


def about(seconds: float | None) -> str:
    """Seconds left in words: `about 12 s left`, `about 3 min left`; empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left"
