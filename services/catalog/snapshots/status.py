"""How a snapshot's record changes with each event: pure, and tolerant of any arrival order.

The rules: BackupRequested creates a pending record; dump and upload activity makes
it in_progress; BackupStored completes it; DumpFailed/UploadFailed fail it. A terminal status
(completed, failed, deleted) is never overwritten, except that SnapshotDeleted turns any
record into `deleted`. An event that overtakes its BackupRequested makes a placeholder that
the BackupRequested fills in later.

Cancellation: SnapshotCancelRequested fails a pending snapshot with "cancelled" at once; a running
one keeps running until the dumper's DumpFailed("cancelled") (or the sweeper) ends it.
SnapshotDeleteFailed keeps the status and records `delete_error`.

Copies: a snapshot has one copy per volume (copies.py). BackupStored and UploadFailed each
settle one copy; the snapshot is completed once every copy has ended and one is stored, and
failed when every copy failed. One copy failing never fails the others. DumpFailed still
fails everything, unless a copy is already stored. SnapshotDeleted removes one copy; the
snapshot is deleted once no stored copy remains. `volume_id`, `path` and `size` show the
primary copy, or the first stored one.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from services.catalog.snapshots import copies as copy_rules
from services.catalog.snapshots.model import SnapshotRecord
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
    SnapshotCancelRequested,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotDeleteRequested,
    UploadFailed,
)

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
    if isinstance(event, BackupStored | UploadFailed) and current.status == "completed":
        # A late copy's result: the snapshot stays completed, the copy shows what happened.
        return _copy_reported(current, event)
    if current.terminal:
        return current
    return _moved(current, event)


def _stored_attempt(record: SnapshotRecord, event: DumpFinished) -> bool:
    return record.status == "completed" and record.attempt_id == event.attempt_id


def _moved(current: SnapshotRecord, event: Event) -> SnapshotRecord:
    """A record that has not ended, after a backup event."""
    if isinstance(event, BackupStored | UploadFailed):
        return _settled(_copy_reported(current, event), at=event.occurred_at)
    if isinstance(event, DumpFailed):
        # A stored copy stands; the sweeper ends the copies that never finish.
        stands = copy_rules.first_stored(current.copies) is not None
        return (
            current if stands else _failed_everywhere(current, event.reason, at=event.occurred_at)
        )
    if isinstance(event, SnapshotCancelRequested):
        # A running dump is stopped by the dumper, whose DumpFailed ends the record.
        if current.status == "pending":
            return fail(current, event.reason, at=event.occurred_at)
        return current
    if isinstance(event, ACTIVITY):
        return _progressed(current, event)
    return current


def _copy_reported(record: SnapshotRecord, event: BackupStored | UploadFailed) -> SnapshotRecord:
    """The record with one copy's outcome, and its shown fields from the copy it shows."""
    if isinstance(event, UploadFailed):
        copies = copy_rules.failed(record.copies, event.volume_id, event.reason)
        return _showing(record.model_copy(update={"copies": copies}))
    copies = copy_rules.stored(
        record.copies,
        event.volume_id,
        path=event.path,
        manifest_path=event.manifest_path,
        size=event.size,
    )
    record = _showing(record.model_copy(update={"copies": copies}))
    if record.volume_id == event.volume_id or record.sha256 is None:
        record = record.model_copy(
            update={
                "sha256": event.sha256,
                "manifest": event.manifest,
                "attempt_id": event.attempt_id,
            }
        )
    return record


def _showing(record: SnapshotRecord) -> SnapshotRecord:
    """`volume_id`, `path`, `size`, `manifest_path` of the primary or first stored copy."""
    shown = copy_rules.first_stored(record.copies)
    if shown is None:
        return record
    return record.model_copy(
        update={
            "volume_id": shown.volume_id,
            "path": shown.path,
            "size": shown.size,
            "manifest_path": shown.manifest_path,
        }
    )


def _settled(record: SnapshotRecord, *, at: datetime) -> SnapshotRecord:
    """The status the copies add up to, for a record that has not ended."""
    stored = copy_rules.first_stored(record.copies) is not None
    if not record.requested:
        # The expected copies are unknown until BackupRequested: a stored one completes the
        # snapshot whatever the others do; a failure waits for the request to be known.
        if stored:
            return record.model_copy(update={"status": "completed", "finished_at": at})
        return record.model_copy(update={"status": "in_progress"})
    if not copy_rules.all_finished(record.copies):
        return record.model_copy(update={"status": "in_progress"})
    if stored:
        return record.model_copy(update={"status": "completed", "finished_at": at})
    reason = copy_rules.failure_reason(record.copies)
    return record.model_copy(update={"status": "failed", "error": reason, "finished_at": at})


def fail(
    record: SnapshotRecord, reason: str, *, at: datetime, missing_reason: str | None = None
) -> SnapshotRecord:
    """The record failed with `reason`, unless it already ended.

    When a copy is already stored, the snapshot completes instead: the copies that never
    finished are `missing` with `missing_reason` (or `reason`); one lost copy never loses
    the stored one.
    """
    if record.terminal:
        return record
    if copy_rules.first_stored(record.copies) is not None:
        copies = copy_rules.unfinished_as(record.copies, "missing", missing_reason or reason)
        return record.model_copy(
            update={"status": "completed", "copies": copies, "finished_at": at}
        )
    return _failed_everywhere(record, reason, at=at)


def _failed_everywhere(record: SnapshotRecord, reason: str, *, at: datetime) -> SnapshotRecord:
    copies = copy_rules.unfinished_as(record.copies, "failed", reason)
    return record.model_copy(
        update={"status": "failed", "error": reason, "finished_at": at, "copies": copies}
    )


def _deletion(
    record: SnapshotRecord, event: SnapshotDeleteRequested | SnapshotDeleted | SnapshotDeleteFailed
) -> SnapshotRecord:
    """Deleting never moves a record back: `deleted` is final, a failure only leaves a note."""
    if record.status == "deleted":
        return record
    if isinstance(event, SnapshotDeleted):
        copies = copy_rules.deleted(record.copies, event.volume_id)
        if copy_rules.first_stored(copies) is not None:
            # Another copy is still stored: only this one is gone.
            return _showing(record.model_copy(update={"copies": copies, "delete_error": None}))
        return record.model_copy(
            update={"status": "deleted", "copies": copies, "delete_error": None}
        )
    if isinstance(event, SnapshotDeleteFailed):
        return record.model_copy(update={"delete_error": event.reason})
    return record.model_copy(update={"delete_error": None})


def _placeholder(snapshot_id: UUID, now: datetime) -> SnapshotRecord:
    return SnapshotRecord(id=snapshot_id, status="pending", created_at=now, last_event_at=now)


def _requested(record: SnapshotRecord, event: BackupRequested) -> SnapshotRecord:
    if record.requested:
        return record
    volumes = [event.destination.volume_id, *(copy.volume_id for copy in event.copies)]
    copies = copy_rules.expect(record.copies, volumes)
    if record.status == "failed":
        copies = copy_rules.unfinished_as(copies, "failed", record.error)
    record = record.model_copy(
        update={
            "requested": True,
            "server_id": event.server_id,
            "server_name": event.server_name,
            "server_type": event.server_type,
            "database": event.database,
            "volume_id": event.destination.volume_id,
            "compression": event.destination.compression,
            "created_at": event.requested_at,
            "copies": copies,
        }
    )
    record = _showing(record)
    if record.terminal or not any(copy.status != "pending" for copy in copies):
        return record
    # Copies reported before the request: now that every copy is known, they add up.
    return _settled(record, at=record.finished_at or record.last_event_at)


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
