"""How a restore's record changes with each event: pure, and tolerant of any arrival order.

The rules: RestoreRequested creates a pending record; RestoreStarted and
RestoreProgressed make it in_progress; RestoreFinished completes it; RestoreFailed fails it.
A terminal status (completed, failed) is never overwritten; a RestoreStarted overtaken by the
outcome still fills in when the attempt started and whether it created the database. An
event that overtakes its RestoreRequested makes a placeholder that the RestoreRequested fills
in later.

A verify's outcome also lands on its snapshot (`verified_at`, `verify_result`): see
`verification`.
"""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import (
    Event,
    RestoreFailed,
    RestoreFinished,
    RestoreMode,
    RestoreProgressed,
    RestoreRequested,
    RestoreStarted,
)

RestoreStatus = Literal["pending", "in_progress", "completed", "failed"]
RESTORE_STATUSES: tuple[RestoreStatus, ...] = ("pending", "in_progress", "completed", "failed")
RUNNING: tuple[RestoreStatus, ...] = ("pending", "in_progress")
RestoreEvent = (
    RestoreRequested | RestoreStarted | RestoreProgressed | RestoreFinished | RestoreFailed
)
RESTORE_EVENTS = (
    RestoreRequested,
    RestoreStarted,
    RestoreProgressed,
    RestoreFinished,
    RestoreFailed,
)

PUBLIC_FIELDS = (
    "id",
    "snapshot_id",
    "mode",
    "server_id",
    "database",
    "overwrite",
    "status",
    "bytes_restored",
    "bytes_read",
    "chunks_verified",
    "created_at",
    "started_at",
    "finished_at",
    "error",
    "created_database",
    "target_dropped",
    "verify_ok",
    "table_differences",
)
"""The restore JSON the catalog answers and the api shows."""


class RestoreRecord(BaseModel):
    """The catalog's record of one restore (or verify)."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    snapshot_id: UUID
    status: RestoreStatus
    requested: bool = False
    mode: RestoreMode | None = None
    server_id: UUID | None = None
    database: str | None = None
    overwrite: bool = False
    bytes_restored: int = 0
    bytes_read: int = 0
    chunks_verified: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_event_at: datetime
    error: str | None = None
    attempt_id: UUID | None = None
    created_database: bool | None = None
    target_dropped: bool | None = None
    verify_ok: bool | None = None
    table_differences: list[dict[str, Any]] = []

    @property
    def terminal(self) -> bool:
        return self.status in {"completed", "failed"}

    def public(self) -> dict[str, Any]:
        """The restore as the api shows it (JSON-ready)."""
        return self.model_dump(mode="json", include=set(PUBLIC_FIELDS))


def is_restore_event(event: Event) -> bool:
    return isinstance(event, RESTORE_EVENTS)


def placeholder(restore_id: UUID, snapshot_id: UUID, now: datetime) -> RestoreRecord:
    """The record of a restore known only from an event that overtook its request."""
    return RestoreRecord(
        id=restore_id, snapshot_id=snapshot_id, status="pending", created_at=now, last_event_at=now
    )


def apply_restore_event(
    record: RestoreRecord | None, event: RestoreEvent, *, now: datetime
) -> RestoreRecord:
    """The record after `event`, handled at `now`; `record` is None when none exists yet."""
    current = record or placeholder(event.restore_id, event.snapshot_id, now)
    current = current.model_copy(update={"last_event_at": max(now, current.last_event_at)})
    if isinstance(event, RestoreRequested):
        return _requested(current, event)
    if current.terminal:
        return _after_the_end(current, event)
    if isinstance(event, RestoreFinished):
        return current.model_copy(
            update={
                "status": "completed",
                "mode": current.mode or event.mode,
                "bytes_restored": event.bytes_restored,
                "finished_at": event.occurred_at,
                "verify_ok": event.verify_ok,
                "table_differences": [d.model_dump(mode="json") for d in event.table_differences],
            }
        )
    if isinstance(event, RestoreFailed):
        failed = fail_restore(current, event.reason, at=event.occurred_at)
        return failed.model_copy(
            update={"mode": current.mode or event.mode, "target_dropped": event.target_dropped}
        )
    if isinstance(event, RestoreStarted):
        return _started(current, event)
    return _progressed(current, event)


def _after_the_end(record: RestoreRecord, event: RestoreEvent) -> RestoreRecord:
    """An ended record keeps its status; a start overtaken by the outcome fills in its facts."""
    if isinstance(event, RestoreStarted) and record.attempt_id is None:
        return record.model_copy(
            update={
                "attempt_id": event.attempt_id,
                "started_at": event.occurred_at,
                "created_database": event.created_database,
            }
        )
    return record


def fail_restore(record: RestoreRecord, reason: str, *, at: datetime) -> RestoreRecord:
    """The record failed with `reason`, unless it already ended."""
    if record.terminal:
        return record
    return record.model_copy(update={"status": "failed", "error": reason, "finished_at": at})


def _requested(record: RestoreRecord, event: RestoreRequested) -> RestoreRecord:
    if record.requested:
        return record
    return record.model_copy(
        update={
            "requested": True,
            "mode": event.mode,
            "server_id": event.server_id,
            "database": event.database,
            "overwrite": event.overwrite,
            "created_at": event.requested_at,
        }
    )


def _started(record: RestoreRecord, event: RestoreStarted) -> RestoreRecord:
    update: dict[str, Any] = {"status": "in_progress"}
    if record.attempt_id == event.attempt_id:
        return record.model_copy(update=update)
    if record.attempt_id is None:
        # The first attempt; its progress may have overtaken its start and counts.
        started_at = min(record.started_at or event.occurred_at, event.occurred_at)
        return record.model_copy(
            update=update
            | {
                "attempt_id": event.attempt_id,
                "started_at": started_at,
                "created_database": event.created_database,
            }
        )
    if record.started_at is not None and event.occurred_at < record.started_at:
        # A late start of an older attempt: the current attempt stands.
        return record.model_copy(update=update)
    # A new attempt (a redelivered request) starts over: its progress counts from zero.
    return record.model_copy(
        update=update
        | {
            "attempt_id": event.attempt_id,
            "started_at": event.occurred_at,
            "created_database": event.created_database,
            "bytes_restored": 0,
            "bytes_read": 0,
            "chunks_verified": 0,
        }
    )


def _progressed(record: RestoreRecord, event: RestoreProgressed) -> RestoreRecord:
    update: dict[str, Any] = {"status": "in_progress"}
    if record.started_at is not None and event.occurred_at < record.started_at:
        # Progress of an attempt older than the current one says nothing about it.
        return record.model_copy(update=update)
    update |= {
        "bytes_restored": max(record.bytes_restored, event.bytes_restored),
        "bytes_read": max(record.bytes_read, event.bytes_read),
        "chunks_verified": max(record.chunks_verified, event.chunks_verified),
    }
    return record.model_copy(update=update)


def ended(before: RestoreRecord, after: RestoreRecord) -> bool:
    """True when this change ended the restore."""
    return not before.terminal and after.terminal


def verification(record: RestoreRecord) -> tuple[datetime, dict[str, Any]] | None:
    """When and how a verify ended, as its snapshot shows it; None for anything else.

    `{"ok": true}`; `{"ok": false, "tables": [...]}` when row counts differ; `{"ok": false,
    "error": "<reason>"}` when the verify itself could not be carried out.
    """
    if record.mode != "verify" or not record.terminal or record.finished_at is None:
        return None
    if record.status == "failed":
        return record.finished_at, {"ok": False, "error": record.error}
    if record.verify_ok and not record.table_differences:
        return record.finished_at, {"ok": True}
    return record.finished_at, {"ok": False, "tables": record.table_differences}
