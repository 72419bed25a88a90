"""The streaming heart of a dump: read blocks, compress in parallel, stage ordered chunks.

    tool stdout --read_block + count rows--> compress on N threads --in order--> ChunkAssembler
        --join (+ seal) + sha256--> stage (waits while K chunks are staged) --> ChunkStaged

Memory stays flat: at most `2 x threads` blocks are read and not yet assembled, and the
staging area holds at most K chunks of the attempt (the uploader deletes what it stored).
"""

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from services.dumper.chunking import ArtifactDigest, Chunk, ChunkAssembler
from services.dumper.compression import Compress
from services.dumper.errors import StagingStalledError
from services.dumper.part_sizing import PartPlan
from services.dumper.rowcount import RowCounter
from shared.logging import get_logger

log = get_logger(__name__)

BACKPRESSURE_POLL_SECONDS = 0.05


class Seal(Protocol):
    """Encryption at rest: a chunk's seq and compressed bytes -> its sealed frame; `final`
    marks the artifact's last chunk (frame version 2, docs/encryption.md)."""

    def __call__(self, seq: int, data: bytes, *, final: bool) -> bytes: ...


class BlockSource(Protocol):
    """The dump tool's output."""

    def read_block(self, size: int) -> bytearray | None:
        """Blocking: up to `size` bytes, None at the end."""

    def silent_for(self) -> float:
        """Seconds the source has been waited on without output."""

    def kill(self) -> None:
        """Stop producing (the tool is killed)."""


@dataclass(frozen=True)
class StagedChunk:
    """What the pipeline reports for each chunk it staged."""

    seq: int
    raw_size: int
    size: int
    sha256: str
    data: bytes


@dataclass(frozen=True)
class Progress:
    bytes_dumped: int
    bytes_compressed: int
    chunks_staged: int


class ChunkSink(Protocol):
    """Where chunks go: the staging area plus the events announcing them."""

    async def stage(self, chunk: StagedChunk) -> None:
        """Store the chunk durably and announce it."""

    async def staged_count(self) -> int:
        """How many of this attempt's chunks are staged and not yet taken."""

    async def progressed(self, progress: Progress) -> None:
        """Report progress (also the heartbeat)."""


@dataclass(frozen=True)
class PipelineConfig:
    block_size: int
    min_part_size: int
    max_staged_chunks: int
    threads: int
    tool_timeout: float
    stall_timeout: float
    progress_interval: float


@dataclass(frozen=True)
class PipelineResult:
    chunk_count: int
    raw_size: int
    size: int
    sha256: str
    timed_out: bool
    table_rows: dict[str, int]


_END = None


class Pipeline:
    """One dump attempt's stream from source to sink."""

    def __init__(
        self,
        source: BlockSource,
        compress: Compress,
        sink: ChunkSink,
        config: PipelineConfig,
        *,
        counter: RowCounter | None = None,
        seal: Seal | None = None,
        parts: PartPlan | None = None,
    ) -> None:
        self._source = source
        self._parts = parts or PartPlan(config.min_part_size, max_parts=None)
        self._seal = seal
        self._counter = counter
        self._compress = compress
        self._sink = sink
        self._config = config
        self._digest = ArtifactDigest()
        self._bytes_read = 0
        self._timed_out = False
        self._in_flight = asyncio.Semaphore(2 * config.threads)
        self._results: asyncio.Queue[tuple[asyncio.Future[bytes], int] | None] = asyncio.Queue()

    async def run(self) -> PipelineResult:
        """Stream everything; returns once the source is exhausted and every chunk staged."""
        executor = ThreadPoolExecutor(self._config.threads, thread_name_prefix="compress")
        producer = asyncio.create_task(self._produce(executor))
        monitor = asyncio.create_task(self._monitor())
        try:
            await self._consume()
            await producer  # re-raises a read error
        finally:
            for task in (producer, monitor):
                task.cancel()
            for task in (producer, monitor):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            executor.shutdown(wait=False, cancel_futures=True)
        return PipelineResult(
            chunk_count=self._digest.chunks,
            raw_size=self._digest.raw_size,
            size=self._digest.size,
            sha256=self._digest.hexdigest(),
            timed_out=self._timed_out,
            table_rows=self._counter.table_rows if self._counter else {},
        )

    async def _produce(self, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._in_flight.acquire()
                block = await asyncio.to_thread(self._read_block)
                if block is None:
                    self._in_flight.release()
                    return
                self._bytes_read += len(block)
                future = loop.run_in_executor(executor, self._compress, block)
                self._results.put_nowait((future, len(block)))
        finally:
            self._results.put_nowait(_END)

    def _read_block(self) -> bytearray | None:
        """The next block, its rows counted on the way (in order, in the reading thread)."""
        block = self._source.read_block(self._config.block_size)
        if block is not None and self._counter is not None:
            self._counter.feed(block)
        return block

    async def _consume(self) -> None:
        assembler = ChunkAssembler(min_size=self._parts.part_size)
        # A sealed chunk is held back until the next one completes or the output ends: only
        # then is it known whether it is the last, which its frame marks. Plain chunks go
        # at once.
        held: Chunk | None = None
        while (item := await self._results.get()) is not _END:
            future, raw_size = item
            member = await future
            self._in_flight.release()
            chunk = assembler.add(member, raw_size=raw_size)
            if chunk is None:
                continue
            if held is not None:
                await self._stage(held, final=False)
            if self._seal is None:
                await self._stage(chunk, final=False)
            else:
                held = chunk
        last = assembler.finish()
        if last is None and assembler.next_seq == 0:
            # No output at all: one empty member still makes a valid, empty .gz / .zst.
            last = Chunk(seq=0, members=[self._compress(b"")], size=0)
        if held is not None:
            await self._stage(held, final=last is None)
        if last is not None:
            await self._stage(last, final=True)

    async def _stage(self, chunk: Chunk, *, final: bool) -> None:
        self._parts.check_seq(chunk.seq, staged_bytes=self._digest.size)
        await self._wait_for_room()
        data, sha256 = await asyncio.to_thread(self._seal_chunk, chunk, final=final)
        staged = StagedChunk(chunk.seq, chunk.raw_size, len(data), sha256, data)
        await self._sink.stage(staged)

    def _seal_chunk(self, chunk: Chunk, *, final: bool) -> tuple[bytes, str]:
        data = chunk.join()
        chunk.members.clear()
        if self._seal is not None:
            # Sealed after compression; sizes and sha256 are those of the staged frame.
            data = self._seal(chunk.seq, data, final=final)
        return data, self._digest.add(data, raw_size=chunk.raw_size)

    async def _wait_for_room(self) -> None:
        deadline = time.monotonic() + self._config.stall_timeout
        while await self._sink.staged_count() >= self._config.max_staged_chunks:
            if time.monotonic() > deadline:
                raise StagingStalledError(
                    f"{self._config.max_staged_chunks} staged chunks were not taken within "
                    f"{self._config.stall_timeout:g} s; is the uploader running?"
                )
            await asyncio.sleep(BACKPRESSURE_POLL_SECONDS)

    async def _monitor(self) -> None:
        """Heartbeat and watchdog: progress every interval; kill a tool silent too long."""
        interval = min(self._config.progress_interval, self._config.tool_timeout)
        next_report = time.monotonic() + self._config.progress_interval
        while True:
            await asyncio.sleep(min(interval, 0.25))
            if self._source.silent_for() > self._config.tool_timeout:
                self._timed_out = True
                self._source.kill()
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self._config.progress_interval
                try:
                    await self._sink.progressed(self.progress)
                except Exception as exc:  # progress is best effort; the dump goes on
                    log.warning("progress_not_reported", error=repr(exc))

    @property
    def progress(self) -> Progress:
        return Progress(self._bytes_read, self._digest.size, self._digest.chunks)
