"""How a snapshot's record changes with each event: pure, and tolerant of any arrival order.

The rules (issue 4): BackupRequested creates a pending record; dump and upload activity makes
it in_progress; BackupStored completes it; DumpFailed/UploadFailed fail it. A terminal status
(completed, failed) is never overwritten. An event that overtakes its BackupRequested makes a
placeholder that the BackupRequested fills in later.
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import (
    BackupRequested,
    BackupStored,
    ChunkStaged,
    ChunkStored,
    DumpFailed,
    DumpFinished,
    DumpProgressed,
    DumpStarted,
    Event,
    SnapshotStatus,
    UploadFailed,
)

TERMINAL: frozenset[SnapshotStatus] = frozenset({"completed", "failed"})
ACTIVITY = (DumpStarted, DumpProgressed, ChunkStaged, ChunkStored, DumpFinished)
Activity = DumpStarted | DumpProgressed | ChunkStaged | ChunkStored | DumpFinished
SNAPSHOT_EVENTS = (BackupRequested, *ACTIVITY, BackupStored, DumpFailed, UploadFailed)
"""The events that say something about a backup snapshot's status."""

PUBLIC_FIELDS = (
    "id",
    "status",
    "server_id",
    "server_name",
    "database",
    "volume_id",
    "compression",
    "created_at",
    "started_at",
    "finished_at",
    "bytes_dumped",
    "size",
    "sha256",
    "path",
    "error",
)
"""The snapshot JSON of interfaces.md #9, shared by catalog and api."""


class SnapshotRecord(BaseModel):
    """The catalog's record of one snapshot."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    status: SnapshotStatus
    requested: bool = False
    server_id: UUID | None = None
    server_name: str | None = None
    database: str | None = None
    volume_id: UUID | None = None
    compression: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    bytes_dumped: int = 0
    size: int | None = None
    sha256: str | None = None
    path: str | None = None
    error: str | None = None
    attempt_id: UUID | None = None
    last_event_at: datetime

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The snapshot as the api shows it (JSON-ready)."""
        return self.model_dump(mode="json", include=set(PUBLIC_FIELDS))


def is_snapshot_event(event: Event) -> bool:
    return isinstance(event, SNAPSHOT_EVENTS)


def apply_event(record: SnapshotRecord | None, event: Event, *, now: datetime) -> SnapshotRecord:
    """The record after `event`, handled at `now`; `record` is None when none exists yet."""
    current = record or _placeholder(event.snapshot_id, now)
    current = current.model_copy(update={"last_event_at": max(now, current.last_event_at)})
    if isinstance(event, BackupRequested):
        return _requested(current, event)
    if current.terminal:
        return current
    if isinstance(event, BackupStored):
        return current.model_copy(
            update={
                "status": "completed",
                "size": event.size,
                "sha256": event.sha256,
                "path": event.path,
                "volume_id": current.volume_id or event.volume_id,
                "finished_at": event.occurred_at,
                "attempt_id": event.attempt_id,
            }
        )
    if isinstance(event, DumpFailed | UploadFailed):
        return fail(current, event.reason, at=event.occurred_at)
    if isinstance(event, ACTIVITY):
        return _progressed(current, event)
    return current


def fail(record: SnapshotRecord, reason: str, *, at: datetime) -> SnapshotRecord:
    """The record failed with `reason`, unless it already ended."""
    if record.terminal:
        return record
    return record.model_copy(update={"status": "failed", "error": reason, "finished_at": at})


def _placeholder(snapshot_id: UUID, now: datetime) -> SnapshotRecord:
    return SnapshotRecord(id=snapshot_id, status="pending", created_at=now, last_event_at=now)


def _requested(record: SnapshotRecord, event: BackupRequested) -> SnapshotRecord:
    if record.requested:
        return record
    return record.model_copy(
        update={
            "requested": True,
            "server_id": event.server_id,
            "server_name": event.server_name,
            "database": event.database,
            "volume_id": event.destination.volume_id,
            "compression": event.destination.compression,
            "created_at": event.requested_at,
        }
    )


def _progressed(record: SnapshotRecord, event: Activity) -> SnapshotRecord:
    update: dict[str, Any] = {"status": "in_progress"}
    if record.attempt_id != event.attempt_id:
        if not _newer_attempt(record, event):
            # A late message of another attempt: the current attempt's progress stands.
            return record.model_copy(update=update)
        update |= {
            "attempt_id": event.attempt_id,
            "bytes_dumped": 0,
            "started_at": event.occurred_at,
        }
        record = record.model_copy(update=update)
    if isinstance(event, DumpStarted):
        started = min(record.started_at or event.occurred_at, event.occurred_at)
        update["started_at"] = started
    elif isinstance(event, DumpFinished):
        update["started_at"] = event.started_at
        update["bytes_dumped"] = max(record.bytes_dumped, event.raw_size)
    elif isinstance(event, DumpProgressed):
        update["bytes_dumped"] = max(record.bytes_dumped, event.bytes_dumped)
    return record.model_copy(update=update)


def _newer_attempt(record: SnapshotRecord, event: Activity) -> bool:
    """True when `event` belongs to an attempt that replaces the record's current one.

    Only the dumper's own events, which it sends in order, start a new attempt: an
    uploader's ChunkStored of an old attempt may legitimately arrive after a new one began.
    """
    if record.attempt_id is None or record.started_at is None:
        return True
    if not isinstance(event, DumpStarted | DumpProgressed):
        return False
    return event.occurred_at >= record.started_at


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
