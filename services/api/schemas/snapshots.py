"""Bodies of /api/v1/snapshots."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.api.schemas.restores import RestorePublic
from shared.events import ServerType, SnapshotStatus


class SnapshotCopyPublic(BaseModel):
    """One volume's copy of a snapshot: stored, or why not."""

    volume_id: UUID
    status: Literal["pending", "stored", "failed", "missing", "deleted"] = Field(
        examples=["failed"]
    )
    path: str | None = None
    manifest_path: str | None = None
    size: int | None = None
    error: str | None = Field(
        default=None, examples=["bucket offsite does not exist on s3.example.com"]
    )


class SnapshotPublic(BaseModel):
    """One snapshot: where it came from, where it went, and how it went.

    With several volumes, `volume_id`, `path` and `size` are the primary copy's (or the first
    stored copy's); `copies` lists each volume's copy.
    """

    id: UUID
    status: SnapshotStatus
    server_id: UUID | None
    server_name: str | None
    server_type: ServerType | None = Field(default=None, description="Engine it was taken from.")
    database: str | None
    volume_id: UUID | None
    compression: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    bytes_dumped: int
    size: int | None
    sha256: str | None
    path: str | None
    error: str | None
    config_id: UUID | None = Field(
        default=None, description="The backup configuration that fired it; null when manual."
    )
    locked: bool = Field(default=False, description="Locked against pruning and deletion.")
    copies: list[SnapshotCopyPublic] = Field(
        default_factory=list, description="One per volume, the primary first."
    )


class Progress(BaseModel):
    """How far the dump has got."""

    bytes_dumped: int = 0
    bytes_compressed: int = 0
    chunks_staged: int = 0


class TimelineEntry(BaseModel):
    """One event that led to the snapshot's state."""

    event_type: str = Field(examples=["DumpStarted"])
    occurred_at: datetime
    summary: str = Field(examples=["pg_dump 15.20 started (attempt 1, server 15.4)"])


class SnapshotWarning(BaseModel):
    """A hook of the snapshot's configuration that failed: a warning, not a failure."""

    source: str = Field(examples=["post_backup_hook"])
    message: str = Field(examples=["hook /usr/local/bin/sync-offsite exited with code 3"])
    exit_code: int | None = None
    restore_id: UUID | None = None
    occurred_at: datetime


class SnapshotDetail(SnapshotPublic):
    """One snapshot with everything that explains it: progress, duration, manifest, timeline."""

    progress: Progress | None = None
    duration_seconds: float | None = Field(default=None, description="From tool start to end.")
    manifest_path: str | None = None
    manifest: dict[str, Any] | None = Field(
        default=None, description="The manifest stored beside the artifact."
    )
    delete_error: str | None = Field(
        default=None, description="Why the last deletion failed, when it did."
    )
    timeline: list[TimelineEntry] = Field(default_factory=list)
    restores: list[RestorePublic] = Field(
        default_factory=list, description="Its restores and verifies, newest first (50 at most)."
    )
    warnings: list[SnapshotWarning] = Field(
        default_factory=list, description="Hooks that failed after it ended."
    )
    verified_at: datetime | None = Field(default=None, description="When its last verify ended.")
    verify_result: dict[str, Any] | None = Field(
        default=None,
        description='The last verify\'s outcome: `{"ok": true}`, `{"ok": false, "tables": '
        '[{"table", "expected", "actual"}]}` when row counts differ, or `{"ok": false, '
        '"error": "<reason>"}` when the verify could not be carried out.',
        examples=[
            {"ok": False, "tables": [{"table": "public.orders", "expected": 12, "actual": 11}]}
        ],
    )


class SnapshotPage(BaseModel):
    """One page of snapshots; pass `next_cursor` as `cursor` for the next one."""

    items: list[SnapshotPublic]
    next_cursor: str | None = Field(description="null on the last page.")


class SnapshotActionAccepted(BaseModel):
    """A deletion or cancellation accepted; the status changes once it is carried out."""

    id: UUID
    status: Literal["deleting", "cancelling"]


SnapshotSort = Literal["created_at", "-created_at", "size", "-size"]
