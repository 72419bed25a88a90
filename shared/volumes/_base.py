"""What every volume driver offers, the values it trades in, and its errors."""

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID


class VolumeError(Exception):
    """A volume refused or failed an operation; the message is a sentence for a person."""


class VolumeFullError(VolumeError):
    """No space left on the volume."""


class VolumeAccessDeniedError(VolumeError):
    """The volume's credentials or file permissions do not allow the operation."""


class VolumeMissingError(VolumeError):
    """The volume's directory or bucket does not exist."""


class VolumeUnreachableError(VolumeError):
    """The volume's server does not answer."""


class ArtifactMismatchError(VolumeError):
    """The assembled artifact's size or checksum differs from what the dump reported."""


class UploadGoneError(VolumeError):
    """The upload was aborted (by a failure or a newer attempt) while a part was being stored."""


class ObjectMissingError(VolumeError):
    """The key asked for is not on the volume."""


@dataclass(frozen=True)
class UploadTarget:
    """One attempt's artifact being assembled on a volume from parts.

    `upload_id` is the S3 multipart upload id; local volumes keep parts in a directory
    named by snapshot and attempt and leave it empty.
    """

    snapshot_id: UUID
    attempt_id: UUID
    key: str
    upload_id: str = ""


@dataclass(frozen=True)
class StagedChunk:
    """A verified staged chunk: its bytes in memory, or a local file that may be renamed.

    `movable` is False when other volumes still need the staged file (the copies):
    then a local volume copies it instead of renaming it away.
    """

    seq: int
    size: int
    sha256: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    movable: bool = True


@dataclass(frozen=True)
class StoredPart:
    """A chunk durably stored as part `seq` of an upload; `etag` is the S3 part ETag."""

    seq: int
    size: int
    sha256: str
    etag: str = ""


@dataclass(frozen=True)
class Usage:
    """Space on a volume; None where the backend cannot tell (S3 has no free space)."""

    used_bytes: int | None
    free_bytes: int | None
    total_bytes: int | None


class Volume(Protocol):
    """A storage volume: parts in, one atomic artifact out, and plain object access."""

    @property
    def location(self) -> str:
        """Where the volume is, for messages: a path or `endpoint/bucket/prefix`."""

    @property
    def place(self) -> str:
        """What a test's checks call the location: `directory` or `bucket`."""

    async def prepare(self) -> str:
        """Make sure the location is there: a local volume makes its missing directory, an
        S3 volume checks that its bucket exists (it never creates one). A sentence of what
        was found or done; VolumeError with the sentence why when it is not usable."""

    async def begin(self, *, snapshot_id: UUID, attempt_id: UUID, key: str) -> UploadTarget:
        """Start assembling the artifact `key` of one attempt."""

    async def store_part(self, target: UploadTarget, chunk: StagedChunk) -> StoredPart:
        """Store a verified staged chunk durably as part `chunk.seq`."""

    async def find_part(self, target: UploadTarget, seq: int, sha256: str) -> StoredPart | None:
        """The part `seq` if it is already stored with this checksum (a crash after storing)."""

    async def finalise(
        self, target: UploadTarget, parts: Sequence[StoredPart], *, size: int, sha256: str
    ) -> None:
        """Assemble the parts in order under `target.key` atomically and verify the result.

        Safe to repeat after a crash: an artifact already in place with the expected size
        is accepted.
        """

    async def abort(self, target: UploadTarget) -> None:
        """Drop every part of the upload; nothing of it stays behind. Safe to repeat."""

    async def write(self, key: str, data: bytes) -> None:
        """Write a small object (a manifest) atomically."""

    async def read(self, key: str) -> bytes:
        """The whole object `key`."""

    def open_stream(self, key: str) -> AsyncIterator[bytes]:
        """The object `key` as a stream of blocks (downloads, restores)."""

    async def delete(self, key: str) -> None:
        """Remove `key`; missing is fine."""

    async def exists(self, key: str) -> bool:
        """True when `key` is stored."""

    async def usage(self) -> Usage:
        """Used and free space, as far as the backend knows."""

    async def sweep_temporaries(self, *, older_than: float, keep: Collection[str]) -> int:
        """Remove temporaries a crash left (older than `older_than` s, not of a key in
        `keep`); how many went."""
