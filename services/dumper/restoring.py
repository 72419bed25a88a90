"""Restore (or verify) one snapshot for one RestoreRequested delivery.

Every request ends with RestoreFinished or RestoreFailed published; the handler acks after.
The volume's manifest is compared with what the catalog recorded (the request's anchor,
shared/anchors.py) before any target is touched: a manifest someone rewrote, with or without
its encryption block, ends the restore there. The artifact is streamed from the volume chunk
by chunk, each chunk's sha256 checked against that manifest (and so against the catalog)
before it is decompressed and fed to the client tool; nothing is copied whole.
An encrypted snapshot's data key is unwrapped before any target is touched (a wrong master
key ends the restore there), and each checked chunk is decrypted before it is inflated.
The restore writes into a work database (work_target.py: a temporary PostgreSQL database
renamed to the target at the end, the MySQL/MariaDB target itself), dropped when the restore
fails or stops. A verify restores into a fresh scratch database, counts its tables' rows
against the manifest and always drops it.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol
from uuid import uuid4

from pydantic import TypeAdapter, ValidationError

from services.dumper.adapters.targets import ClientFailedError, TargetGateway
from services.dumper.artifact import (
    MANIFEST_LIMIT,
    ArtifactError,
    ChunkDecrypter,
    Manifest,
    check_anchor,
    check_chunk,
    chunks_of,
    decrypter_for,
    manifest_body,
    parse_manifest,
)
from services.dumper.cancellation import complete
from services.dumper.errors import DumpError
from services.dumper.ports import Publish
from services.dumper.streaming import InflatedArtifact, close_stream, read_bounded
from services.dumper.tools import Tool
from services.dumper.verification import differences
from services.dumper.work_target import WorkTarget
from shared.encryption import Keyring
from shared.events import (
    RestoreFailed,
    RestoreFinished,
    RestoreProgressed,
    RestoreRequested,
    RestoreStarted,
    TableDifference,
)
from shared.logging import get_logger
from shared.sealing import Sealer, UnsealError
from shared.specs import ConnectionSpec, VolumeSpec
from shared.volumes import VolumeError

log = get_logger(__name__)


class RestoreError(Exception):
    """A restore cannot go on; the message is a sentence for a person."""


class Source(Protocol):
    """The volume a restore reads from."""

    async def read(self, key: str) -> bytes: ...

    def open_stream(self, key: str) -> AsyncIterator[bytes]: ...


OpenVolume = Callable[[VolumeSpec], Source]


class Restorer:
    """Runs restores: reads the artifact, feeds the client tool, tells about it."""

    def __init__(
        self,
        *,
        sealer: Sealer,
        targets: TargetGateway,
        open_volume: OpenVolume,
        publish: Publish,
        progress_interval: float = 1.0,
        keyring: Keyring | None = None,
    ) -> None:
        self._sealer = sealer
        self._keyring = keyring
        self._targets = targets
        self._open_volume = open_volume
        self._publish = publish
        self._interval = progress_interval
        self._volume_specs: TypeAdapter[VolumeSpec] = TypeAdapter(VolumeSpec)

    async def refuse(self, request: RestoreRequested, reason: str) -> RestoreFailed:
        """Answer a request without touching any target."""
        return await self._failed(request, reason, dropped=False)

    async def _failed(
        self, request: RestoreRequested, reason: str, *, dropped: bool
    ) -> RestoreFailed:
        event = RestoreFailed(
            snapshot_id=request.snapshot_id,
            restore_id=request.restore_id,
            mode=request.mode,
            reason=reason,
            target_dropped=dropped,
        )
        await self._publish(event)
        log.warning("restore_failed", reason=reason, target_dropped=dropped)
        return event

    async def restore(self, request: RestoreRequested) -> RestoreFinished | RestoreFailed:
        """One restore; returns the terminal event it published."""
        try:
            spec, volume = self._unseal(request)
            manifest = await self._manifest(volume, request)
            # An encrypted snapshot's key is unwrapped first: a wrong key touches no target.
            decrypt = decrypter_for(manifest, self._keyring, request.snapshot_id)
            tool = await self._targets.client_tool(spec)
            self._check_versions(spec, manifest, tool.major)
            existed = await self._target_exists(spec, request)
            if existed:
                await self._verify_only(volume, request, manifest)
        except (RestoreError, ArtifactError, VolumeError, DumpError) as exc:
            return await self.refuse(request, str(exc))
        return await self._into_target(
            request, spec, volume, manifest, tool, existed=existed, decrypt=decrypt
        )

    async def _into_target(
        self,
        request: RestoreRequested,
        spec: ConnectionSpec,
        volume: Source,
        manifest: Manifest,
        tool: Tool,
        *,
        existed: bool,
        decrypt: ChunkDecrypter | None,
    ) -> RestoreFinished | RestoreFailed:
        began = time.monotonic()
        work = WorkTarget(self._targets, spec, request)
        try:
            await work.clear_leftover()
            await work.prepare(replacing=existed)
        except (DumpError, VolumeError) as exc:
            return await self.refuse(request, str(exc))
        await self._publish(
            RestoreStarted(
                snapshot_id=request.snapshot_id,
                restore_id=request.restore_id,
                attempt_id=uuid4(),
                tool=tool.name,
                tool_version=tool.version,
                created_database=not existed,
            )
        )
        found: list[TableDifference] = []
        try:
            restored = await self._feed(
                request, spec, volume, manifest, tool, decrypt=decrypt, database=work.name
            )
            if request.mode == "verify":
                try:
                    found = differences(manifest.table_rows, await work.row_counts())
                finally:
                    await work.discard()
            else:
                await work.commit(replacing=existed)
        except (ArtifactError, VolumeError, ClientFailedError, DumpError) as exc:
            await work.discard()
            return await self._failed(request, str(exc), dropped=True)
        except BaseException:
            # Stopped (the service stops): no event, no ack; the work database goes even if
            # a second cancel comes meanwhile, and the first is raised.
            with contextlib.suppress(asyncio.CancelledError):
                await complete(work.discard())
            raise
        finished = RestoreFinished(
            snapshot_id=request.snapshot_id,
            restore_id=request.restore_id,
            mode=request.mode,
            bytes_restored=restored,
            verify_ok=not found if request.mode == "verify" else None,
            table_differences=found,
        )
        await self._publish(finished)
        log.info("restore_finished", bytes_restored=restored, seconds=time.monotonic() - began)
        return finished

    async def _feed(
        self,
        request: RestoreRequested,
        spec: ConnectionSpec,
        volume: Source,
        manifest: Manifest,
        tool: Tool,
        *,
        decrypt: ChunkDecrypter | None,
        database: str,
    ) -> int:
        """Stream, check, decompress and pipe the artifact into `database`; the
        uncompressed bytes fed."""
        restored = 0
        last = time.monotonic()
        blocks = volume.open_stream(request.source.artifact_key)
        async with (
            self._targets.feeding(spec, database, tool) as client,
            InflatedArtifact(blocks, manifest, decrypt=decrypt) as text,
        ):
            while (piece := await text.next_piece()) is not None:
                await client.write(piece)
                restored += len(piece)
                if time.monotonic() - last >= self._interval:
                    last = time.monotonic()
                    await self._publish(
                        RestoreProgressed(
                            snapshot_id=request.snapshot_id,
                            restore_id=request.restore_id,
                            bytes_read=text.bytes_read,
                            bytes_restored=restored,
                            chunks_verified=text.chunks_verified,
                        )
                    )
            await client.finish()
        return restored

    async def _verify_only(
        self, volume: Source, request: RestoreRequested, manifest: Manifest
    ) -> None:
        """Read the whole artifact and check every chunk, touching nothing."""
        stream = volume.open_stream(request.source.artifact_key)
        try:
            async for chunk, data in chunks_of(stream, manifest):
                await asyncio.to_thread(check_chunk, chunk, data)
        finally:
            await close_stream(stream)

    async def _target_exists(self, spec: ConnectionSpec, request: RestoreRequested) -> bool:
        """Whether the target database exists; RestoreError if it does without overwrite."""
        existed = await self._targets.exists(spec, request.database)
        if existed and await WorkTarget(self._targets, spec, request).target_is_leftover():
            existed = False  # what a killed attempt of this restore left (MySQL, MariaDB)
        if existed and not request.overwrite:
            raise RestoreError(f"database {request.database} already exists")
        return existed

    def _unseal(self, request: RestoreRequested) -> tuple[ConnectionSpec, Source]:
        try:
            spec = ConnectionSpec.model_validate(self._sealer.unseal(request.connection))
            volume_spec = self._volume_specs.validate_python(
                self._sealer.unseal(request.source.volume)
            )
        except UnsealError as exc:
            raise RestoreError(str(exc)) from None
        except ValidationError:
            raise RestoreError("the connection or volume is malformed") from None
        return spec, self._open_volume(volume_spec)

    @staticmethod
    async def _manifest(volume: Source, request: RestoreRequested) -> Manifest:
        """The volume's manifest, once it proves to be the one the catalog recorded."""
        key = request.source.manifest_key
        data = await read_bounded(volume.open_stream(key), key, limit=MANIFEST_LIMIT)
        body = manifest_body(data, key)
        check_anchor(body, request.source.anchor, artifact_key=request.source.artifact_key)
        return parse_manifest(body, key)

    @staticmethod
    def _check_versions(spec: ConnectionSpec, manifest: Manifest, client_major: int | None) -> None:
        made_by = manifest.tool_major
        if spec.type != "postgresql" or made_by is None or client_major is None:
            return
        if client_major < made_by:
            raise RestoreError(
                f"psql {client_major} cannot restore a dump made by pg_dump {made_by}; "
                f"install postgresql-client-{made_by}"
            )
