"""The streaming pipeline: order, chunk sizes, checksums, back-pressure, the silence watchdog."""

import gzip
import hashlib
import io
import random

import pytest
import zstandard

from services.dumper.compression import CompressionOptions, block_compressor
from services.dumper.pipeline import Pipeline, PipelineConfig
from tests.unit.dumper.fakes import BytesSource, MemorySink, SilentSource

KIB = 1024


def dump_like(size: int, *, seed: int = 7) -> bytes:
    """Text that compresses about as well as a real dump (a few times, not a thousand)."""
    rng = random.Random(seed)
    words = [f"{rng.getrandbits(32):08x}" for _ in range(4000)] + ["INSERT", "VALUES", "NULL"]
    out = io.StringIO()
    while out.tell() < size:
        out.write(" ".join(rng.choices(words, k=12)) + "\n")
    return out.getvalue().encode()[:size]


def config(**overrides: float) -> PipelineConfig:
    values: dict[str, float] = {
        "block_size": 64 * KIB,
        "min_part_size": 48 * KIB,
        "max_staged_chunks": 4,
        "threads": 2,
        "tool_timeout": 30.0,
        "stall_timeout": 30.0,
        "progress_interval": 1.0,
    }
    values.update(overrides)
    return PipelineConfig(**values)  # type: ignore[arg-type]


async def run(data: bytes, compression: str = "gzip", *, engine: str = "isal", **overrides):
    sink = MemorySink()
    compress = block_compressor(compression, CompressionOptions(gzip_engine=engine))  # type: ignore[arg-type]
    result = await Pipeline(BytesSource(data), compress, sink, config(**overrides)).run()
    return result, sink


class TestPipeline:
    @pytest.mark.parametrize("engine", ["isal", "zlib"])
    async def test_concatenated_gzip_chunks_are_the_dump(self, engine):
        data = dump_like(900 * KIB)
        result, sink = await run(data, engine=engine)
        artifact = b"".join(chunk.data for chunk in sink.chunks)
        assert gzip.decompress(artifact) == data
        assert result.raw_size == len(data)
        assert result.size == len(artifact)
        assert result.chunk_count == len(sink.chunks) > 2

    async def test_concatenated_zstd_frames_are_the_dump(self):
        data = dump_like(700 * KIB)
        _result, sink = await run(data, "zstd")
        artifact = b"".join(chunk.data for chunk in sink.chunks)
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(artifact), read_across_frames=True
        )
        assert reader.read() == data
        assert len(sink.chunks) > 1

    async def test_chunks_come_in_order_and_all_but_the_last_reach_the_part_size(self):
        _result, sink = await run(dump_like(1200 * KIB), min_part_size=40 * KIB)
        assert [chunk.seq for chunk in sink.chunks] == list(range(len(sink.chunks)))
        assert all(chunk.size >= 40 * KIB for chunk in sink.chunks[:-1])
        assert all(chunk.size == len(chunk.data) for chunk in sink.chunks)

    async def test_each_chunk_is_whole_members(self):
        """A chunk decompresses on its own, so the uploader can store it as any part."""
        data = dump_like(600 * KIB)
        _result, sink = await run(data)
        pieces = [gzip.decompress(chunk.data) for chunk in sink.chunks]
        assert b"".join(pieces) == data
        assert [len(p) for p in pieces] == [chunk.raw_size for chunk in sink.chunks]

    async def test_checksums_cover_each_chunk_and_the_whole_artifact(self):
        result, sink = await run(dump_like(500 * KIB))
        for chunk in sink.chunks:
            assert chunk.sha256 == hashlib.sha256(chunk.data).hexdigest()
        whole = hashlib.sha256(b"".join(chunk.data for chunk in sink.chunks)).hexdigest()
        assert result.sha256 == whole

    async def test_empty_output_still_makes_one_valid_chunk(self):
        result, sink = await run(b"")
        assert result.chunk_count == 1
        assert gzip.decompress(sink.chunks[0].data) == b""

    async def test_never_more_than_k_chunks_staged_at_once(self):
        sink = MemorySink(take_after=0.05)
        compress = block_compressor("gzip", CompressionOptions())
        source = BytesSource(dump_like(1500 * KIB))
        cfg = config(min_part_size=20 * KIB, max_staged_chunks=2)
        result = await Pipeline(source, compress, sink, cfg).run()
        assert result.chunk_count > 4
        assert sink.most_staged <= 2

    async def test_staging_that_never_drains_fails_with_a_reason(self):
        from services.dumper.errors import StagingStalledError

        sink = MemorySink(take_after=3600)
        compress = block_compressor("gzip", CompressionOptions())
        cfg = config(min_part_size=20 * KIB, max_staged_chunks=1, stall_timeout=0.3)
        with pytest.raises(StagingStalledError, match="uploader"):
            await Pipeline(BytesSource(dump_like(400 * KIB)), compress, sink, cfg).run()

    async def test_a_silent_tool_is_killed_after_the_timeout(self):
        source = SilentSource()
        compress = block_compressor("gzip", CompressionOptions())
        cfg = config(tool_timeout=0.3, progress_interval=0.1)
        sink = MemorySink()
        result = await Pipeline(source, compress, sink, cfg).run()
        assert result.timed_out
        assert sink.progress, "the heartbeat kept beating while the tool was silent"
