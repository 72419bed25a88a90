"""How a snapshot's record changes with each event: pure, and tolerant of any arrival order.

The rules (issue 4): BackupRequested creates a pending record; dump and upload activity makes
it in_progress; BackupStored completes it; DumpFailed/UploadFailed fail it. A terminal status
(completed, failed, deleted) is never overwritten, except that SnapshotDeleted turns any
record into `deleted`. An event that overtakes its BackupRequested makes a placeholder that
the BackupRequested fills in later.

Issue 5: SnapshotCancelRequested fails a pending snapshot with "cancelled" at once; a running
one keeps running until the dumper's DumpFailed("cancelled") (or the sweeper) ends it.
SnapshotDeleteFailed keeps the status and records `delete_error`.
"""

from datetime import datetime
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
    ServerType,
    SnapshotCancelRequested,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotDeleteRequested,
    SnapshotStatus,
    UploadFailed,
)

TERMINAL: frozenset[SnapshotStatus] = frozenset({"completed", "failed", "deleted"})
ACTIVITY = (DumpStarted, DumpProgressed, ChunkStaged, ChunkStored, DumpFinished)
Activity = DumpStarted | DumpProgressed | ChunkStaged | ChunkStored | DumpFinished
DELETION = (SnapshotDeleteRequested, SnapshotDeleted, SnapshotDeleteFailed)
SNAPSHOT_EVENTS = (
    BackupRequested,
    *ACTIVITY,
    BackupStored,
    DumpFailed,
    UploadFailed,
    SnapshotCancelRequested,
    *DELETION,
)
"""The events that say something about a backup snapshot's status."""

PUBLIC_FIELDS = (
    "id",
    "status",
    "server_id",
    "server_name",
    "server_type",
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
    "delete_error",
    "config_id",
    "locked",
)
"""The snapshot JSON of interfaces.md #9, shared by catalog and api (lists and details)."""


class SnapshotRecord(BaseModel):
    """The catalog's record of one snapshot."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    status: SnapshotStatus
    requested: bool = False
    server_id: UUID | None = None
    server_name: str | None = None
    server_type: ServerType | None = None
    database: str | None = None
    volume_id: UUID | None = None
    compression: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    bytes_dumped: int = 0
    bytes_compressed: int = 0
    chunks_staged: int = 0
    size: int | None = None
    sha256: str | None = None
    path: str | None = None
    error: str | None = None
    attempt_id: UUID | None = None
    last_event_at: datetime
    manifest: dict[str, Any] | None = None
    manifest_path: str | None = None
    delete_error: str | None = None
    verified_at: datetime | None = None
    verify_result: dict[str, Any] | None = None
    """Written only by a verify's end (restores.py), never by `save_snapshot`."""
    config_id: UUID | None = None
    locked: bool = False
    """Both written only by marks.py (issue 8), never by `save_snapshot`."""

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
    if isinstance(event, DELETION):
        return _deletion(current, event)
    if isinstance(event, DumpFinished) and _stored_attempt(current, event):
        # Overtaken by its BackupStored: the status stands, the dump's totals fill in.
        return current.model_copy(
            update={
                "bytes_dumped": max(current.bytes_dumped, event.raw_size),
                "bytes_compressed": event.size,
                "chunks_staged": event.chunk_count,
                "started_at": event.started_at,
            }
        )
    if current.terminal:
        return current
    return _moved(current, event)


def _stored_attempt(record: SnapshotRecord, event: DumpFinished) -> bool:
    return record.status == "completed" and record.attempt_id == event.attempt_id


def _moved(current: SnapshotRecord, event: Event) -> SnapshotRecord:
    """A record that has not ended, after a backup event."""
    if isinstance(event, BackupStored):
        return current.model_copy(
            update={
                "status": "completed",
                "size": event.size,
                "sha256": event.sha256,
                "path": event.path,
                "manifest_path": event.manifest_path,
                "manifest": event.manifest,
                "volume_id": current.volume_id or event.volume_id,
                "finished_at": event.occurred_at,
                "attempt_id": event.attempt_id,
            }
        )
    if isinstance(event, DumpFailed | UploadFailed):
        return fail(current, event.reason, at=event.occurred_at)
    if isinstance(event, SnapshotCancelRequested):
        # A running dump is stopped by the dumper, whose DumpFailed ends the record.
        if current.status == "pending":
            return fail(current, event.reason, at=event.occurred_at)
        return current
    if isinstance(event, ACTIVITY):
        return _progressed(current, event)
    return current


def fail(record: SnapshotRecord, reason: str, *, at: datetime) -> SnapshotRecord:
    """The record failed with `reason`, unless it already ended."""
    if record.terminal:
        return record
    return record.model_copy(update={"status": "failed", "error": reason, "finished_at": at})


def _deletion(
    record: SnapshotRecord, event: SnapshotDeleteRequested | SnapshotDeleted | SnapshotDeleteFailed
) -> SnapshotRecord:
    """Deleting never moves a record back: `deleted` is final, a failure only leaves a note."""
    if record.status == "deleted":
        return record
    if isinstance(event, SnapshotDeleted):
        return record.model_copy(update={"status": "deleted", "delete_error": None})
    if isinstance(event, SnapshotDeleteFailed):
        return record.model_copy(update={"delete_error": event.reason})
    return record.model_copy(update={"delete_error": None})


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
            "server_type": event.server_type,
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
            "bytes_compressed": 0,
            "chunks_staged": 0,
            "started_at": event.occurred_at,
        }
        record = record.model_copy(update=update)
    if isinstance(event, DumpStarted):
        started = min(record.started_at or event.occurred_at, event.occurred_at)
        update["started_at"] = started
    elif isinstance(event, DumpFinished):
        update["started_at"] = event.started_at
        update["bytes_dumped"] = max(record.bytes_dumped, event.raw_size)
        # The dump's own totals are final for its attempt.
        update["bytes_compressed"] = event.size
        update["chunks_staged"] = event.chunk_count
    elif isinstance(event, DumpProgressed):
        update["bytes_dumped"] = max(record.bytes_dumped, event.bytes_dumped)
        update["bytes_compressed"] = max(record.bytes_compressed, event.bytes_compressed)
        update["chunks_staged"] = max(record.chunks_staged, event.chunks_staged)
    elif isinstance(event, ChunkStaged):
        update["chunks_staged"] = max(record.chunks_staged, event.seq + 1)
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
