"""Dump one database for one BackupRequested delivery: a new attempt from scratch each time.

The attempt ends with DumpFinished or DumpFailed published. Anything else (an unexpected
error, or cancellation when the service stops) propagates, so the message is not acked and
comes back for a new attempt.

A staged chunk belongs to the uploader once its ChunkStaged is announced: the uploader may be
reading it at that very moment, and reads a missing chunk as a lost one. So an attempt that
ends early removes only the chunks it never announced; the uploader drops the announced ones
when it hears DumpFailed, or when another attempt of the snapshot is stored.
"""

import asyncio
import contextlib
import os
import time
from uuid import UUID, uuid4

import structlog
from pydantic import ValidationError

from services.dumper.cancellation import Cancellations, complete
from services.dumper.compression import CompressionOptions, block_compressor
from services.dumper.connection_test import ConnectionReport
from services.dumper.errors import DumpError, ToolFailedError
from services.dumper.part_sizing import PartPlan, plan_backup_parts
from services.dumper.pipeline import (
    Pipeline,
    PipelineConfig,
    PipelineResult,
    Progress,
    Seal,
    StagedChunk,
)
from services.dumper.ports import Gateway, Launch, Publish, SizeMemory
from services.dumper.rowcount import row_counter
from services.dumper.settings import DumperSettings
from services.dumper.stderr import tool_failure
from services.dumper.tools import DumpPlan
from shared.encryption import ChunkSealer, new_data_key, wrap_data_key
from shared.events import (
    BackupRequested,
    ChunkStaged,
    DumpFailed,
    DumpFinished,
    DumpProgressed,
    DumpStarted,
    Encryption,
    chunk_key,
    utc_now,
)
from shared.logging import get_logger
from shared.sealing import Sealer, UnsealError
from shared.specs import ConnectionSpec
from shared.staging import StagingArea, StagingError, attempt_prefix

log = get_logger(__name__)


class Dumper:
    """Runs dump attempts: tool, pipeline, staging and the events that tell about them."""

    def __init__(
        self,
        *,
        settings: DumperSettings,
        sealer: Sealer,
        staging: StagingArea,
        gateway: Gateway,
        launch: Launch,
        publish: Publish,
        sizes: SizeMemory | None = None,
    ) -> None:
        self._settings = settings
        self._sizes = sizes
        self._sealer = sealer
        self._staging = staging
        self._gateway = gateway
        self._launch = launch
        self._publish = publish
        self.cancellations = Cancellations()
        self._keyring = settings.keyring()
        self._compression = CompressionOptions(
            gzip_engine=settings.gzip_engine,
            isal_level=settings.isal_level,
            zlib_level=settings.zlib_level,
            zstd_level=settings.zstd_level,
        )
        self._config = PipelineConfig(
            block_size=settings.block_size,
            min_part_size=settings.min_part_size,
            max_staged_chunks=settings.max_staged_chunks,
            threads=settings.compression_threads(os.cpu_count()),
            tool_timeout=settings.tool_timeout,
            stall_timeout=settings.stall_timeout,
            progress_interval=settings.progress_interval,
        )

    def unseal(self, sealed: str) -> ConnectionSpec:
        """The connection inside a sealed token; a DumpError saying why when it won't open."""
        try:
            return ConnectionSpec.model_validate(self._sealer.unseal(sealed))
        except (UnsealError, ValidationError) as exc:
            reason = str(exc) if isinstance(exc, UnsealError) else "the connection is malformed"
            raise DumpError(reason) from None

    async def databases(self, spec: ConnectionSpec) -> list[str]:
        """User databases on the server `spec` reaches."""
        return await self._gateway.databases(spec)

    async def test_connection(self, spec: ConnectionSpec, database: str | None) -> ConnectionReport:
        """Reachable, authenticated, server version, privileges, dump tool, each a Check;
        and whether the server is ready for continuous archiving."""
        return await self._gateway.test_connection(spec, database)

    async def refuse(self, request: BackupRequested, reason: str) -> DumpFailed:
        """Answer a request for a cancelled snapshot without dumping anything."""
        event = DumpFailed(
            snapshot_id=request.snapshot_id,
            reason=reason,
            destination=request.destination,
            copies=request.copies,
        )
        await self._publish(event)
        log.warning("dump_refused", reason=reason)
        return event

    async def dump(self, request: BackupRequested, *, attempt: int) -> DumpFinished | DumpFailed:
        """One attempt; returns the terminal event it published.

        A cancellation heard while it runs ends it with DumpFailed(reason of the cancel).
        """
        cancelled = self.cancellations.reason(request.snapshot_id)
        if cancelled is not None:
            return await self.refuse(request, cancelled)
        attempt_id = uuid4()
        sink = _AttemptSink(self, request, attempt_id)
        began = time.monotonic()
        with structlog.contextvars.bound_contextvars(attempt_id=str(attempt_id), attempt=attempt):
            try:
                event: DumpFinished | DumpFailed = await self.cancellations.run(
                    request.snapshot_id, self._attempt(request, attempt, sink)
                )
            except (DumpError, StagingError) as exc:
                await complete(sink.discard_unannounced())
                event = DumpFailed(
                    snapshot_id=request.snapshot_id,
                    attempt_id=attempt_id,
                    reason=exc.reason if isinstance(exc, DumpError) else str(exc),
                    exit_code=exc.exit_code if isinstance(exc, DumpError) else None,
                    destination=request.destination,
                    copies=request.copies,
                )
            except BaseException:
                # Cancelled (the service stops) or unexpected: no event, no ack; redelivered.
                # The chunks go even if a second cancel comes meanwhile; the first is raised.
                with contextlib.suppress(asyncio.CancelledError):
                    await complete(sink.discard_unannounced())
                log.warning("dump_abandoned", database=request.database)
                raise
            await self._publish(event)
            seconds = round(time.monotonic() - began, 3)
            if isinstance(event, DumpFinished):
                if self._sizes is not None:
                    await self._sizes.remember(request.server_id, request.database, event.size)
                log.info(
                    "dump_finished",
                    chunks=event.chunk_count,
                    raw_size=event.raw_size,
                    size=event.size,
                    seconds=seconds,
                )
            else:
                log.warning("dump_failed", reason=event.reason, seconds=seconds)
            return event

    async def _attempt(
        self, request: BackupRequested, attempt: int, sink: "_AttemptSink"
    ) -> DumpFinished:
        attempt_id = sink.attempt_id
        spec = self.unseal(request.connection)
        seal, encryption = self._encryption_of(request)
        last_size = None
        if request.expected_size is None and self._sizes is not None:
            last_size = await self._sizes.last(request.server_id, request.database)
        async with self._gateway.plan(spec, request.database) as plan:
            parts = plan_backup_parts(
                request,
                plan.database_size,
                last_size=last_size,
                settings=self._settings,
                sealer=self._sealer,
            )
            started_at = utc_now()
            await self._publish(
                DumpStarted(
                    snapshot_id=request.snapshot_id,
                    attempt_id=attempt_id,
                    attempt=attempt,
                    tool=plan.tool.name,
                    tool_version=plan.tool.version,
                    server_version=plan.server_version,
                    part_size=parts.part_size,
                )
            )
            result = await self._run(plan, sink, spec.type, seal=seal, parts=parts)
        return DumpFinished(
            snapshot_id=request.snapshot_id,
            attempt_id=attempt_id,
            chunk_count=result.chunk_count,
            raw_size=result.raw_size,
            size=result.size,
            sha256=result.sha256,
            tool=plan.tool.name,
            tool_version=plan.tool.version,
            server_version=plan.server_version,
            table_rows=result.table_rows,
            destination=request.destination,
            copies=request.copies,
            started_at=started_at,
            encryption=encryption,
            part_size=parts.part_size,
        )

    def _encryption_of(self, request: BackupRequested) -> tuple[Seal | None, Encryption | None]:
        """For an encrypted request: a fresh data key's sealer and the key wrapped by the
        active master key (docs/encryption.md); DumpError when no master key is set."""
        if not request.encrypted:
            return None, None
        if self._keyring is None:
            raise DumpError(
                "the backup asks for encryption, but the dumper has no master key: "
                "set DUMPER_MASTER_KEYS (docs/encryption.md)"
            )
        data_key = new_data_key()
        master = self._keyring.active
        wrapped = wrap_data_key(data_key, master, request.snapshot_id)
        sealer = ChunkSealer(data_key, request.snapshot_id)
        return sealer.seal, Encryption(key_id=master.key_id, wrapped_key=wrapped)

    async def _run(
        self,
        plan: DumpPlan,
        sink: "_AttemptSink",
        server_type: str,
        *,
        seal: Seal | None,
        parts: PartPlan,
    ) -> PipelineResult:
        process = self._launch(plan.argv, plan.env)
        try:
            options = self._compression.at_level(sink.compression, sink.compression_level)
            compress = block_compressor(sink.compression, options)
            pipeline = Pipeline(
                process,
                compress,
                sink,
                self._config,
                counter=row_counter(server_type),
                seal=seal,
                parts=parts,
            )
            result = await pipeline.run()
            code = await process.wait()
        finally:
            process.close()
        if result.timed_out:
            raise ToolFailedError(
                f"{plan.tool.name} timed out after {self._config.tool_timeout:g} s "
                "without output and was stopped",
                exit_code=code,
            )
        if code != 0:
            reason = tool_failure(plan.tool.name, code, process.stderr.text, secrets=plan.secrets)
            raise ToolFailedError(reason, exit_code=code)
        return result


class _AttemptSink:
    """Stages one attempt's chunks and announces them; knows which it has not announced."""

    def __init__(self, dumper: Dumper, request: BackupRequested, attempt_id: UUID) -> None:
        self._staging = dumper._staging  # noqa: SLF001 - a helper of Dumper
        self._publish = dumper._publish  # noqa: SLF001
        self._request = request
        self.attempt_id = attempt_id
        self._prefix = attempt_prefix(request.snapshot_id, attempt_id)
        self._unannounced: set[str] = set()
        self.compression = request.destination.compression
        self.compression_level = request.compression_level

    async def stage(self, chunk: StagedChunk) -> None:
        key = chunk_key(self._request.snapshot_id, self.attempt_id, chunk.seq)
        self._unannounced.add(key)
        await self._staging.put(key, chunk.data)
        # From here the event may reach the uploader even if publishing fails or is cut
        # short (a lost confirm), so the chunk is the uploader's to remove.
        self._unannounced.discard(key)
        await self._publish(
            ChunkStaged(
                snapshot_id=self._request.snapshot_id,
                attempt_id=self.attempt_id,
                seq=chunk.seq,
                raw_size=chunk.raw_size,
                size=chunk.size,
                sha256=chunk.sha256,
                staged_key=key,
                destination=self._request.destination,
                copies=self._request.copies,
            )
        )

    async def staged_count(self) -> int:
        return await self._staging.count(self._prefix)

    async def discard_unannounced(self) -> None:
        """Remove the chunks staged but never announced (the uploader never hears of them)."""
        for key in sorted(self._unannounced):
            await self._staging.delete(key)
        self._unannounced.clear()

    async def progressed(self, progress: Progress) -> None:
        await self._publish(
            DumpProgressed(
                snapshot_id=self._request.snapshot_id,
                attempt_id=self.attempt_id,
                bytes_dumped=progress.bytes_dumped,
                bytes_compressed=progress.bytes_compressed,
                chunks_staged=progress.chunks_staged,
            )
        )
