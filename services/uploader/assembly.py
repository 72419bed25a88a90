"""Assembling an artifact on every volume of a backup from staged chunks (DESIGN.md).

Each staged chunk becomes part `seq` of its attempt's upload to each volume (the primary
destination and its copies) as soon as it arrives, in any order and on any replica,
and is deleted from staging once every copy has handled it (the dumper's back-pressure counts
what is left). When the dump has finished and every chunk is stored on a volume, exactly one
replica finalises that copy: the artifact appears atomically, the manifest is written beside
it, and BackupStored(volume_id) is published. A failure on one volume closes only that copy's
upload (UploadFailed for that volume); the other copies go on.
"""

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

from services.uploader.errors import MissingChunkError, UploaderError
from services.uploader.manifest import build_manifest, check_complete, encode_manifest
from services.uploader.staged import StagedReader
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
from shared.staging import StagingArea, StagingError, attempt_prefix
from shared.volumes import UploadGoneError, Volume, VolumeError, VolumeUnreachableError

log = get_logger(__name__)

KNOWN_FAILURES = (VolumeError, StagingError, UploaderError, UnsealError)
"""Failures a person can act on: they end the upload with UploadFailed instead of a retry."""

Publish = Callable[[Event], Awaitable[None]]

TEMP_GRACE = 3600.0
"""Seconds a temporary of an assembly is left alone before a sweep may remove it."""

FINALISE_WAITS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Seconds between tries of a finalising step while the volume does not answer: about a
minute in all, so a short outage delays the backup instead of failing it."""


def every_destination(event: ChunkStaged | DumpFinished | DumpFailed) -> list[Destination]:
    """The primary destination, then each copy: each volume once, in that order."""
    found: dict[UUID, Destination] = {}
    for destination in [event.destination, *event.copies]:
        if destination is not None:
            found.setdefault(destination.volume_id, destination)
    return list(found.values())


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
    async def attempt_states(
        self, snapshot_id: UUID, attempt_id: UUID
    ) -> dict[UUID, UploadState]: ...
    async def open_artifact_keys(self) -> set[str]: ...


class VolumeSource(Protocol):
    def open(self, destination: Destination) -> Volume: ...


class Assembler:
    """The uploader's use cases, one per consumed event."""

    def __init__(
        self,
        *,
        uploads: Uploads,
        staging: StagingArea,
        volumes: VolumeSource,
        publish: Publish,
        finalise_waits: tuple[float, ...] = FINALISE_WAITS,
        temp_grace: float = TEMP_GRACE,
    ) -> None:
        self.finalise_waits = finalise_waits
        self.temp_grace = temp_grace
        self.uploads = uploads
        self.staging = staging
        self.volumes = volumes
        self.publish = publish

    async def chunk_staged(self, event: ChunkStaged) -> None:
        """Store one staged chunk on every volume, then finalise each copy that is complete."""
        destinations = every_destination(event)
        staged = StagedReader(self.staging, event, movable=len(destinations) == 1)
        for destination in destinations:
            key = UploadKey(event.snapshot_id, event.attempt_id, destination.volume_id)
            async with self._failures_end_upload(key, destination, destinations):
                await self._store_chunk(key, destination, event, staged)
        # Every copy has handled the chunk (stored it, or its upload is over): it may go.
        await self.staging.delete(event.staged_key)
        await self._release_staging(event.snapshot_id, event.attempt_id, destinations)

    async def dump_finished(self, event: DumpFinished) -> None:
        """Note that the dump is complete, then finalise each copy whose chunks are stored."""
        destinations = every_destination(event)
        for destination in destinations:
            key = UploadKey(event.snapshot_id, event.attempt_id, destination.volume_id)
            async with self._failures_end_upload(key, destination, destinations):
                volume = self.volumes.open(destination)
                upload = await self._open(volume, key, destination)
                if upload.state != "open":
                    log.info("dump_finished_discarded", upload_state=upload.state)
                    continue
                await self.uploads.record_finished(
                    key, event.chunk_count, event.model_dump(mode="json")
                )
                await self._finalise_if_complete(volume, key)
        await self._release_staging(event.snapshot_id, event.attempt_id, destinations)

    async def dump_failed(self, event: DumpFailed) -> None:
        """Abandon the snapshot on every volume: abort its uploads, drop its staged chunks.

        The failed attempt goes, and so do earlier attempts still open: a dumper that
        stopped or died mid-dump left them, its redelivered request made this attempt, and
        with this one failed nothing will finish them (their multipart uploads would stay).
        """
        if event.attempt_id is None or event.destination is None:
            log.info("dump_failed_before_staging")
            return
        destinations = every_destination(event)
        stale: set[UUID] = set()
        for destination in destinations:
            key = UploadKey(event.snapshot_id, event.attempt_id, destination.volume_id)
            await self._close(key, destination, "abandoned", event.reason)
            stale |= await self._discard_other_attempts(
                key,
                f"the snapshot failed: {event.reason}",
                volume=functools.partial(self.volumes.open, destination),
            )
        await self._release_staging(event.snapshot_id, event.attempt_id, destinations)
        for attempt_id in sorted(stale):
            await self._release_staging(event.snapshot_id, attempt_id, destinations)

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

    async def _store_chunk(
        self, key: UploadKey, destination: Destination, event: ChunkStaged, staged: StagedReader
    ) -> None:
        volume = self.volumes.open(destination)
        upload = await self._open(volume, key, destination)
        if upload.state != "open":
            log.info("chunk_discarded", seq=event.seq, upload_state=upload.state)
            return
        if await self.uploads.has_chunk(key, event.seq):
            log.info("chunk_already_stored", seq=event.seq)
        elif not await self._store(volume, upload, event, staged):
            return
        await self._finalise_if_complete(volume, key)

    async def _store(
        self, volume: Volume, upload: Upload, event: ChunkStaged, staged: StagedReader
    ) -> bool:
        """Store the chunk and record it; False when the upload was closed meanwhile."""
        target = upload.target()
        chunk = await staged.read()
        try:
            if chunk is None:
                part = await volume.find_part(target, event.seq, event.sha256)
                if part is None:
                    raise MissingChunkError(f"staged chunk {event.seq} is missing from staging")
            else:
                part = await volume.store_part(target, chunk)
        except UploadGoneError:
            log.info("chunk_discarded", seq=event.seq, upload_state="aborted")
            return False
        record = ChunkRecord(event.seq, part.size, event.raw_size, part.sha256, part.etag)
        state = await self.uploads.record_chunk(upload.key, record)
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
        log.info("chunk_stored", seq=event.seq, size=part.size, volume_id=str(upload.key.volume_id))
        return True

    async def _finalise_if_complete(self, volume: Volume, key: UploadKey) -> None:
        async with self.uploads.finalising(key) as plan:
            if plan is None:
                return
            finished = DumpFinished.model_validate(plan.upload.dump_finished)
            chunks = check_complete(plan.chunks, finished)
            await self._while_unreachable(
                lambda: volume.finalise(
                    plan.upload.target(),
                    [c.part() for c in chunks],
                    size=finished.size,
                    sha256=finished.sha256,
                )
            )
            manifest = build_manifest(finished, chunks, created_at=utc_now())
            manifest_path = manifest_key(plan.upload.artifact_key)
            await self._while_unreachable(
                lambda: volume.write(manifest_path, encode_manifest(manifest))
            )
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
        log.info(
            "backup_stored",
            path=plan.upload.artifact_key,
            size=finished.size,
            volume_id=str(key.volume_id),
        )
        await self._discard_other_attempts(
            key, f"superseded by {key.attempt_id}", volume=lambda: volume
        )
        await self._sweep_temporaries(volume, key.volume_id)

    async def _sweep_temporaries(self, volume: Volume, volume_id: UUID) -> None:
        """Remove what assemblies a crash cut short left on the volume (`.tmp-*` files).

        Run after each stored backup, the clean-up of stale attempts; the artifacts of
        uploads still open may be assembling on some replica, so theirs stay.
        """
        keys = await self.uploads.open_artifact_keys()
        keep = keys | {manifest_key(k) for k in keys}
        try:
            removed = await volume.sweep_temporaries(older_than=self.temp_grace, keep=keep)
        except VolumeError as exc:  # the backup is stored; the next sweep tries again
            log.warning("temporaries_not_swept", reason=str(exc), volume_id=str(volume_id))
            return
        if removed:
            log.info("temporaries_swept", removed=removed, volume_id=str(volume_id))

    async def _release_staging(
        self, snapshot_id: UUID, attempt_id: UUID, destinations: list[Destination]
    ) -> None:
        """Drop the attempt's staged chunks once no copy needs them any more.

        Once every copy's upload is over and one is stored, the snapshot is stored: every
        attempt's chunks go (a stale attempt's too). Once every copy failed or was
        abandoned, only this attempt's chunks go.
        """
        states = await self.uploads.attempt_states(snapshot_id, attempt_id)
        if any(states.get(d.volume_id, "open") == "open" for d in destinations):
            return
        stored = "stored" in states.values()
        await self.staging.delete_prefix(
            attempt_prefix(snapshot_id) if stored else attempt_prefix(snapshot_id, attempt_id)
        )

    async def _while_unreachable(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run a finalising step again while the volume does not answer, then give up.

        The fault suite cut S3 off while it completed an upload: the server had
        completed the object but the answer was lost, so failing at once left a whole artifact
        under the final name of a failed snapshot. Tried again once the volume answers, the
        step finds it complete (finalise and write are idempotent) and the backup is stored.
        """
        for wait in (*self.finalise_waits, None):
            try:
                await step()
            except VolumeUnreachableError as exc:
                if wait is None:
                    raise
                log.warning("volume_unreachable_retrying", retry_in=wait, reason=str(exc))
                await asyncio.sleep(wait)
            else:
                return

    async def _discard_other_attempts(
        self, key: UploadKey, reason: str, *, volume: Callable[[], Volume]
    ) -> set[UUID]:
        """Close the snapshot's other open attempts on this volume and abort their parts.

        A stale attempt's parts and chunks never mix in: they go once one attempt is
        stored, or once the snapshot failed. Returns the attempts closed.
        """
        closed_attempts: set[UUID] = set()
        for other in await self.uploads.other_open_attempts(key):
            closed = await self.uploads.close_upload(
                other.key, other.artifact_key, "abandoned", reason
            )
            if closed is None:
                continue
            closed_attempts.add(other.key.attempt_id)
            if closed.begun:
                with contextlib.suppress(VolumeError, UnsealError):
                    await volume().abort(closed.target())
            log.info(
                "attempt_superseded", stale_attempt_id=str(other.key.attempt_id), reason=reason
            )
        return closed_attempts

    @contextlib.asynccontextmanager
    async def _failures_end_upload(
        self, key: UploadKey, destination: Destination, destinations: list[Destination]
    ) -> AsyncIterator[None]:
        """Turn a failure a person can act on into UploadFailed; others reach the ack policy.

        When no copy needs the staged chunks any more, they go before UploadFailed is
        published: once the snapshot shows failed, nothing of it is left in staging.
        """
        try:
            yield
        except KNOWN_FAILURES as exc:
            reason = str(exc)
            if await self._close(key, destination, "failed", reason):
                await self._release_staging(key.snapshot_id, key.attempt_id, destinations)
                await self.publish(
                    UploadFailed(
                        snapshot_id=key.snapshot_id,
                        attempt_id=key.attempt_id,
                        volume_id=key.volume_id,
                        reason=reason,
                    )
                )
                log.warning("upload_failed", reason=reason, volume_id=str(key.volume_id))

    async def _close(
        self, key: UploadKey, destination: Destination, state: UploadState, reason: str
    ) -> bool:
        """End an open upload and abort its parts. False if it was already over.

        Its staged chunks stay: other copies may still need them (`_release_staging`).
        """
        closed = await self.uploads.close_upload(key, destination.artifact_key, state, reason)
        if closed is None:
            return False
        if closed.begun:
            try:
                await self.volumes.open(destination).abort(closed.target())
            except (VolumeError, UnsealError) as exc:
                log.warning("upload_abort_failed", reason=str(exc))
        log.info("upload_closed", upload_state=state, volume_id=str(key.volume_id))
        return True
