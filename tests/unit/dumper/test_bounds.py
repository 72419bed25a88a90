"""What a hostile volume can make a restore spend: decompression bombs inflate no more than
the room asked for, and an oversized manifest is refused before it is parsed."""

import gzip
import json
import tracemalloc
from collections.abc import AsyncIterator

import pytest
import zstandard

from services.dumper.artifact import MANIFEST_LIMIT, ArtifactError, manifest_body
from services.dumper.decompression import SLICE_OUTPUT, Decompressor
from services.dumper.streaming import read_bounded

MIB = 1024 * 1024
BOMB_SIZE = 256 * MIB


@pytest.fixture(scope="module")
def zstd_bomb() -> bytes:
    """256 MiB of zeros in one zstd frame of a few KiB (without a declared content size)."""
    compressor = zstandard.ZstdCompressor(level=3, write_content_size=False)
    writer = compressor.compressobj()
    zeros = bytes(4 * MIB)
    frame = b"".join(writer.compress(zeros) for _ in range(BOMB_SIZE // len(zeros)))
    return frame + writer.flush()


def peak_of(call: object) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()  # type: ignore[operator]
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestBoundedDecompression:
    @pytest.mark.parametrize("limit", [64 * 1024, 2 * MIB])
    def test_a_zstd_bomb_slice_allocates_no_more_than_its_limit(self, zstd_bomb, limit):
        decompressor = Decompressor("zstd")
        decompressor.push(zstd_bomb)

        out, peak = peak_of(lambda: decompressor.take(limit))

        assert len(out) == limit  # type: ignore[arg-type]
        assert len(zstd_bomb) < 64 * 1024
        # The output itself, joined once, plus the decompressor's small buffers.
        assert peak < 3 * limit + MIB

    def test_no_call_inflates_more_than_a_slice_whatever_the_limit(self, zstd_bomb):
        decompressor = Decompressor("zstd")
        decompressor.push(zstd_bomb)

        piece = decompressor.take(SLICE_OUTPUT // 2)
        again = decompressor.take(SLICE_OUTPUT // 2)

        assert len(piece) == len(again) == SLICE_OUTPUT // 2
        assert piece == bytes(len(piece))

    def test_a_bomb_drained_slice_by_slice_comes_back_whole(self, zstd_bomb):
        decompressor = Decompressor("zstd")
        decompressor.push(zstd_bomb)
        total = 0
        while piece := decompressor.take(32 * MIB):
            assert len(piece) <= 32 * MIB
            total += len(piece)
        decompressor.finish()

        assert total == BOMB_SIZE

    def test_a_gzip_bomb_slice_is_bounded_too(self):
        bomb = gzip.compress(bytes(64 * MIB), compresslevel=9)
        decompressor = Decompressor("gzip")
        decompressor.push(bomb)

        out, peak = peak_of(lambda: decompressor.take(MIB))

        assert len(out) == MIB  # type: ignore[arg-type]
        assert peak < 4 * MIB

    def test_concatenated_frames_split_across_pushes_come_back(self):
        text = b"".join(b"row %d\n" % i for i in range(50_000))
        frames = b"".join(zstandard.ZstdCompressor().compress(text[i::3]) for i in range(3))
        decompressor = Decompressor("zstd")
        out = []
        for start in range(0, len(frames), 1000):
            decompressor.push(frames[start : start + 1000])
            while piece := decompressor.take(4096):
                out.append(piece)
        decompressor.finish()

        assert b"".join(out) == b"".join(text[i::3] for i in range(3))

    def test_a_frame_cut_short_is_named(self):
        decompressor = Decompressor("zstd")
        decompressor.feed(zstandard.ZstdCompressor().compress(b"x" * 100_000)[:-5])

        with pytest.raises(ArtifactError, match="artifact ends inside a zstd member"):
            decompressor.finish()


async def blocks_of(data: bytes, size: int = MIB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class TestManifestLimit:
    def test_a_manifest_over_the_limit_is_refused_before_parsing(self):
        huge = b'{"chunks": [' + b" " * MANIFEST_LIMIT + b"]}"

        with pytest.raises(ArtifactError, match=r"^manifest refused: m\.json is \d+ bytes"):
            manifest_body(huge, "m.json")

    async def test_reading_stops_at_the_limit(self):
        read: list[int] = []

        async def endless() -> AsyncIterator[bytes]:
            while True:
                read.append(MIB)
                yield bytes(MIB)

        with pytest.raises(ArtifactError, match=r"manifest refused: m\.json is larger than"):
            await read_bounded(endless(), "m.json", limit=4 * MIB)
        assert sum(read) <= 5 * MIB

    async def test_a_manifest_under_the_limit_is_read(self):
        body = {"chunks": [], "size": 0}

        data = await read_bounded(blocks_of(json.dumps(body).encode()), "m.json", limit=MIB)

        assert manifest_body(data, "m.json") == body

    @pytest.mark.parametrize("data", [b"[1, 2]", b"not json", b'"text"'])
    def test_what_is_no_object_is_unreadable(self, data):
        with pytest.raises(ArtifactError, match=r"manifest unreadable: m\.json"):
            manifest_body(data, "m.json")
