"""Which notifications exist, and which a configuration's trigger lets through. Pure."""

from typing import Literal

Kind = Literal[
    "backup_failed",
    "backup_completed",
    "restore_failed",
    "restore_completed",
    "verify_failed",
    "verify_completed",
    "volume_over_quota",
    "backup_overdue",
    "test",
]
Trigger = Literal["failure", "success", "all"]
DEFAULT_TRIGGER: Trigger = "failure"

SUCCESSES: frozenset[Kind] = frozenset(
    {"backup_completed", "restore_completed", "verify_completed"}
)
"""Everything else is a failure: an overdue backup and a full volume are alarms."""


def is_failure(kind: Kind) -> bool:
    return kind not in SUCCESSES


def wanted(trigger: Trigger | str | None, kind: Kind) -> bool:
    """True when a configuration whose notify.on is `trigger` is told about `kind`."""
    if kind == "test":
        return True
    chosen = trigger if trigger in ("failure", "success", "all") else DEFAULT_TRIGGER
    if chosen == "all":
        return True
    return is_failure(kind) == (chosen == "failure")


def snapshot_kind(status: str) -> Kind | None:
    """The notification of a snapshot's new status; None for one that has not ended."""
    if status == "completed":
        return "backup_completed"
    if status == "failed":
        return "backup_failed"
    return None


def restore_kind(*, mode: str, finished: bool, verify_ok: bool | None) -> Kind:
    """A restore's or verify's end: a verify whose counts differ is a failed verify."""
    if mode == "verify":
        return "verify_completed" if finished and verify_ok is not False else "verify_failed"
    return "restore_completed" if finished else "restore_failed"


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the `attempt`-th failed try: base, 2 base, 4 base, ... up to cap."""
    exponent = max(attempt - 1, 0)
    return float(min(cap, base * 2 ** min(exponent, 32)))
