"""What the uploader knows about one attempt's artifact: its key, state and stored chunks."""

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from shared.volumes import StoredPart, UploadTarget

UploadState = Literal["open", "stored", "failed", "abandoned"]
"""open: parts arriving; stored: finalised; failed / abandoned: parts dropped, chunks ignored."""


@dataclass(frozen=True)
class UploadKey:
    """One attempt's upload to one volume; every piece of uploader state is keyed by it."""

    snapshot_id: UUID
    attempt_id: UUID
    volume_id: UUID


@dataclass(frozen=True)
class Upload:
    """A row of the uploads table."""

    key: UploadKey
    artifact_key: str
    state: UploadState
    upload_id: str | None = None
    chunk_count: int | None = None
    dump_finished: dict[str, Any] | None = None
    reason: str | None = None

    @property
    def begun(self) -> bool:
        """True once the volume was told about the upload (a multipart id, a parts folder)."""
        return self.upload_id is not None

    def target(self) -> UploadTarget:
        """The volume-side handle of this upload."""
        return UploadTarget(
            self.key.snapshot_id, self.key.attempt_id, self.artifact_key, self.upload_id or ""
        )


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk stored as a part: what the manifest lists about it."""

    seq: int
    size: int
    raw_size: int
    sha256: str
    etag: str = ""

    def part(self) -> StoredPart:
        return StoredPart(self.seq, self.size, self.sha256, self.etag)


@dataclass(frozen=True)
class FinalisePlan:
    """A complete upload, locked for finalising by this replica."""

    upload: Upload
    chunks: list[ChunkRecord]
