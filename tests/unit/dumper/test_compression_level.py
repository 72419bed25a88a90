"""A backup's own compression level reaches the compressor; None keeps the default."""

import gzip
import io

import pytest
import zstandard

from services.dumper.compression import CompressionOptions
from shared.events import ChunkStaged, DumpFinished
from tests.unit.dumper.test_dumping import FakeGateway, Harness

WRITE_SQL = (
    "import sys, random\n"
    "r = random.Random(1)\n"
    "for i in range(40000):\n"
    "    sys.stdout.buffer.write(b\"INSERT INTO orders VALUES (%d, 'c-%d', %d);\\n\""
    " % (i, r.randrange(5000), r.randrange(1000)))\n"
)


class TestOptionsAtLevel:
    def test_no_level_keeps_the_configured_options(self):
        options = CompressionOptions(isal_level=1, zstd_level=5)
        assert options.at_level("gzip", None) is options
        assert options.at_level("zstd", None) is options

    def test_a_gzip_level_goes_to_both_gzip_engines(self):
        options = CompressionOptions().at_level("gzip", 0)
        assert (options.isal_level, options.zlib_level, options.zstd_level) == (0, 0, 3)

    def test_a_zstd_level_leaves_gzip_alone(self):
        options = CompressionOptions().at_level("zstd", 19)
        assert (options.isal_level, options.zlib_level, options.zstd_level) == (2, 6, 19)


async def dumped(tmp_path, **change) -> tuple[int, bytes]:
    harness = Harness(tmp_path, FakeGateway(WRITE_SQL))
    request = harness.request()
    if "compression" in change:
        destination = request.destination.model_copy(
            update={"compression": change.pop("compression")}
        )
        change["destination"] = destination
    outcome = await harness.dumper.dump(request.model_copy(update=change), attempt=1)
    assert isinstance(outcome, DumpFinished)
    data = b"".join([await harness.staging.get(e.staged_key) for e in harness.of(ChunkStaged)])
    return outcome.size, data


def unzstd(data: bytes) -> bytes:
    """Every frame of a .zst, as `zstd -dc` reads it."""
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    return reader.read()


class TestDumpAtLevel:
    @pytest.mark.parametrize("level", [0, 1])
    async def test_gzip_level_changes_the_artifact_and_it_still_reads(self, tmp_path, level):
        default_size, default_data = await dumped(tmp_path / "default")
        size, data = await dumped(tmp_path / "level", compression_level=level)
        assert gzip.decompress(data) == gzip.decompress(default_data)
        # ISA-L level 0 is much larger than the default 2 on SQL text; level 1 about the same
        # size but different bytes.
        assert data != default_data
        if level == 0:
            assert size > default_size * 1.2

    async def test_zstd_19_is_smaller_than_the_default(self, tmp_path):
        default_size, default_data = await dumped(tmp_path / "default", compression="zstd")
        size, data = await dumped(tmp_path / "19", compression="zstd", compression_level=19)
        assert unzstd(data) == unzstd(default_data)
        assert size < default_size * 0.9
