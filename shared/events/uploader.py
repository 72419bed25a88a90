"""Events the uploader publishes: stored chunks and artifacts, deletions."""

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from shared.events._base import (
    Event,
)


class ChunkStored(Event):
    """Published by the uploader when a staged chunk is durable in the volume as a part."""

    routing_key: ClassVar[str] = "chunk.stored"

    attempt_id: UUID = Field(description="The dump attempt.")
    seq: int = Field(ge=0, description="Position of the chunk.")
    volume_id: UUID = Field(description="The volume it went to.")


class BackupStored(Event):
    """Published by the uploader when the artifact and its manifest are final in the volume."""

    routing_key: ClassVar[str] = "backup.stored"

    attempt_id: UUID = Field(description="The dump attempt that was stored.")
    volume_id: UUID = Field(description="The volume holding the artifact.")
    path: str = Field(description="Key of the artifact relative to the volume root.")
    manifest_path: str = Field(description="Key of the manifest beside it.")
    size: int = Field(ge=0, description="Stored bytes of the artifact.")
    sha256: str = Field(description="SHA-256 of the stored artifact.")
    manifest: dict[str, Any] | None = Field(
        default=None,
        description="The manifest written beside the artifact (sizes, checksums, chunks).",
        examples=[{"format": 1, "compression": "gzip", "chunks": []}],
    )


class UploadFailed(Event):
    """Published by the uploader when an artifact cannot be stored; the snapshot ends failed."""

    routing_key: ClassVar[str] = "upload.failed"

    attempt_id: UUID | None = Field(default=None, description="The dump attempt.")
    volume_id: UUID = Field(description="The volume that refused it.")
    reason: str = Field(
        description="Why, in words: bucket missing, access denied, disk full, unreachable.",
        examples=["volume is full: no space left on /backups"],
    )


class SnapshotDeleted(Event):
    """Published by the uploader once a snapshot's artifact and manifest are gone."""

    routing_key: ClassVar[str] = "snapshot.deleted"

    volume_id: UUID = Field(description="The volume the files were removed from.")


class SnapshotDeleteFailed(Event):
    """Published by the uploader when a snapshot's files cannot be removed; it stays listed."""

    routing_key: ClassVar[str] = "snapshot.delete_failed"

    volume_id: UUID = Field(description="The volume that refused.")
    reason: str = Field(
        description="Why, in words.", examples=["volume unreachable: s3.local does not answer"]
    )
