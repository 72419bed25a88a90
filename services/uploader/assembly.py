"""Assembling an artifact on a volume from staged chunks (DESIGN.md, "Data path").

Each staged chunk becomes part `seq` of its attempt's upload as soon as it arrives, in any
order and on any replica, and is then deleted from staging (the dumper's back-pressure
counts what is left). When the dump has finished and every chunk is stored, exactly one
replica finalises: the artifact appears atomically, the manifest is written beside it, and
BackupStored is published. A failure aborts the upload and drops its staged chunks.
"""

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

from services.uploader.errors import CorruptChunkError, MissingChunkError, UploaderError
from services.uploader.manifest import build_manifest, check_complete, encode_manifest
from services.uploader.upload import ChunkRecord, FinalisePlan, Upload, UploadKey, UploadState
from shared.events import (
    BackupStored,
    ChunkStaged,
    ChunkStored,
    Destination,
    DumpFailed,
    DumpFinished,
    Event,
    UploadFailed,
    utc_now,
)
from shared.logging import get_logger
from shared.naming import manifest_key
from shared.sealing import UnsealError
from shared.staging import StagedChunkMissingError, StagingArea, StagingError, attempt_prefix
from shared.volumes import StagedChunk, UploadGoneError, Volume, VolumeError

log = get_logger(__name__)

KNOWN_FAILURES = (VolumeError, StagingError, UploaderError, UnsealError)
"""Failures a person can act on: they end the upload with UploadFailed instead of a retry."""

Publish = Callable[[Event], Awaitable[None]]


class Uploads(Protocol):
    """The uploader's state (services.uploader.adapters.db.UploadRepository)."""

    async def open_upload(
        self, key: UploadKey, artifact_key: str, begin: Callable[[], Awaitable[str]]
    ) -> Upload: ...
    async def has_chunk(self, key: UploadKey, seq: int) -> bool: ...
    async def record_chunk(self, key: UploadKey, chunk: ChunkRecord) -> UploadState: ...
    async def record_finished(
        self, key: UploadKey, chunk_count: int, dump_finished: dict[str, Any]
    ) -> None: ...
    def finalising(self, key: UploadKey) -> AbstractAsyncContextManager[FinalisePlan | None]: ...
    async def close_upload(
        self, key: UploadKey, artifact_key: str, state: UploadState, reason: str
    ) -> Upload | None: ...
    async def other_open_attempts(self, key: UploadKey) -> list[Upload]: ...


class VolumeSource(Protocol):
    def open(self, destination: Destination) -> Volume: ...


class Assembler:
    """The uploader's use cases, one per consumed event."""

    def __init__(
        self, *, uploads: Uploads, staging: StagingArea, volumes: VolumeSource, publish: Publish
    ) -> None:
        self.uploads = uploads
        self.staging = staging
        self.volumes = volumes
        self.publish = publish

    async def chunk_staged(self, event: ChunkStaged) -> None:
        """Store one staged chunk as a part, then finalise if it was the last piece."""
        key = UploadKey(event.snapshot_id, event.attempt_id, event.destination.volume_id)
        async with self._failures_end_upload(key, event.destination):
            volume = self.volumes.open(event.destination)
            upload = await self._open(volume, key, event.destination)
            if upload.state != "open":
                await self.staging.delete(event.staged_key)
                log.info("chunk_discarded", seq=event.seq, upload_state=upload.state)
                return
            if await self.uploads.has_chunk(key, event.seq):
                await self.staging.delete(event.staged_key)
                log.info("chunk_already_stored", seq=event.seq)
            elif not await self._store(volume, upload, event):
                return
            await self._finalise_if_complete(volume, key)

    async def dump_finished(self, event: DumpFinished) -> None:
        """Note that the dump is complete, then finalise if every chunk is stored."""
        key = UploadKey(event.snapshot_id, event.attempt_id, event.destination.volume_id)
        async with self._failures_end_upload(key, event.destination):
            volume = self.volumes.open(event.destination)
            upload = await self._open(volume, key, event.destination)
            if upload.state != "open":
                await self.staging.delete_prefix(attempt_prefix(key.snapshot_id, key.attempt_id))
                log.info("dump_finished_discarded", upload_state=upload.state)
                return
            await self.uploads.record_finished(
                key, event.chunk_count, event.model_dump(mode="json")
            )
            await self._finalise_if_complete(volume, key)

    async def dump_failed(self, event: DumpFailed) -> None:
        """Abandon the attempt: abort its upload and drop its staged chunks."""
        if event.attempt_id is None or event.destination is None:
            log.info("dump_failed_before_staging")
            return
        key = UploadKey(event.snapshot_id, event.attempt_id, event.destination.volume_id)
        await self._close(key, event.destination, "abandoned", event.reason)

    # -- steps -----------------------------------------------------------------------------

    async def _open(self, volume: Volume, key: UploadKey, destination: Destination) -> Upload:
        async def begin() -> str:
            target = await volume.begin(
                snapshot_id=key.snapshot_id,
                attempt_id=key.attempt_id,
                key=destination.artifact_key,
            )
            return target.upload_id

        return await self.uploads.open_upload(key, destination.artifact_key, begin)

    async def _store(self, volume: Volume, upload: Upload, event: ChunkStaged) -> bool:
        """Store the chunk and record it; False when the upload was closed meanwhile."""
        target = upload.target()
        staged = await self._read_staged(event)
        try:
            if staged is None:
                part = await volume.find_part(target, event.seq, event.sha256)
                if part is None:
                    raise MissingChunkError(f"staged chunk {event.seq} is missing from staging")
            else:
                part = await volume.store_part(target, staged)
        except UploadGoneError:
            await self.staging.delete(event.staged_key)
            log.info("chunk_discarded", seq=event.seq, upload_state="aborted")
            return False
        record = ChunkRecord(event.seq, part.size, event.raw_size, part.sha256, part.etag)
        state = await self.uploads.record_chunk(upload.key, record)
        await self.staging.delete(event.staged_key)
        if state != "open":
            await volume.abort(target)  # it was closed while we stored: drop our part too
            log.info("chunk_discarded", seq=event.seq, upload_state=state)
            return False
        await self.publish(
            ChunkStored(
                snapshot_id=event.snapshot_id,
                attempt_id=event.attempt_id,
                seq=event.seq,
                volume_id=upload.key.volume_id,
            )
        )
        log.info("chunk_stored", seq=event.seq, size=part.size)
        return True

    async def _read_staged(self, event: ChunkStaged) -> StagedChunk | None:
        """The staged chunk, verified against its sha256; None when it is gone."""
        path = self.staging.local_path(event.staged_key)
        data: bytes | None = None
        try:
            if path is not None:
                digest, size = await asyncio.to_thread(_file_digest, path)
            else:
                data = await self.staging.get(event.staged_key)
                digest = await asyncio.to_thread(lambda: hashlib.sha256(data or b"").hexdigest())
                size = len(data)
        except (FileNotFoundError, StagedChunkMissingError):
            return None
        if digest != event.sha256 or size != event.size:
            raise CorruptChunkError(f"staged chunk {event.seq} is corrupt")
        return StagedChunk(event.seq, size, digest, path=path, data=data)

    async def _finalise_if_complete(self, volume: Volume, key: UploadKey) -> None:
        async with self.uploads.finalising(key) as plan:
            if plan is None:
                return
            finished = DumpFinished.model_validate(plan.upload.dump_finished)
            chunks = check_complete(plan.chunks, finished)
            await volume.finalise(
                plan.upload.target(),
                [c.part() for c in chunks],
                size=finished.size,
                sha256=finished.sha256,
            )
            manifest = build_manifest(finished, chunks, created_at=utc_now())
            manifest_path = manifest_key(plan.upload.artifact_key)
            await volume.write(manifest_path, encode_manifest(manifest))
            # Published before the state commits: a crash in between re-finalises (a no-op
            # on the volume) and publishes again, which the catalog takes once.
            await self.publish(
                BackupStored(
                    snapshot_id=key.snapshot_id,
                    attempt_id=key.attempt_id,
                    volume_id=key.volume_id,
                    path=plan.upload.artifact_key,
                    manifest_path=manifest_path,
                    size=finished.size,
                    sha256=finished.sha256,
                    manifest=manifest,
                )
            )
        log.info("backup_stored", path=plan.upload.artifact_key, size=finished.size)
        await self._discard_other_attempts(volume, key)
        await self.staging.delete_prefix(attempt_prefix(key.snapshot_id))

    async def _discard_other_attempts(self, volume: Volume, key: UploadKey) -> None:
        """A stale attempt's parts and chunks never mix in: drop them once one is stored."""
        for other in await self.uploads.other_open_attempts(key):
            closed = await self.uploads.close_upload(
                other.key, other.artifact_key, "abandoned", f"superseded by {key.attempt_id}"
            )
            if closed is not None and closed.begun:
                with contextlib.suppress(VolumeError):
                    await volume.abort(closed.target())
            await self.staging.delete_prefix(attempt_prefix(key.snapshot_id, other.key.attempt_id))
            log.info("attempt_superseded", stale_attempt_id=str(other.key.attempt_id))

    @contextlib.asynccontextmanager
    async def _failures_end_upload(
        self, key: UploadKey, destination: Destination
    ) -> AsyncIterator[None]:
        """Turn a failure a person can act on into UploadFailed; others reach the ack policy."""
        try:
            yield
        except KNOWN_FAILURES as exc:
            reason = str(exc)
            if await self._close(key, destination, "failed", reason):
                await self.publish(
                    UploadFailed(
                        snapshot_id=key.snapshot_id,
                        attempt_id=key.attempt_id,
                        volume_id=key.volume_id,
                        reason=reason,
                    )
                )
                log.warning("upload_failed", reason=reason)

    async def _close(
        self, key: UploadKey, destination: Destination, state: UploadState, reason: str
    ) -> bool:
        """End an open upload: abort its parts, drop its staged chunks. False if already over."""
        closed = await self.uploads.close_upload(key, destination.artifact_key, state, reason)
        await self.staging.delete_prefix(attempt_prefix(key.snapshot_id, key.attempt_id))
        if closed is None:
            return False
        if closed.begun:
            try:
                await self.volumes.open(destination).abort(closed.target())
            except (VolumeError, UnsealError) as exc:
                log.warning("upload_abort_failed", reason=str(exc))
        log.info("upload_closed", upload_state=state)
        return True


def _file_digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return digest, handle.tell()
