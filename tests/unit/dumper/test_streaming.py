"""The artifact inflated ahead of the client: order, bounded pieces, damage after the good part."""

import gzip
import hashlib
import json
import random
from collections.abc import AsyncIterator

import pytest
import zstandard

from services.dumper.artifact import ArtifactError, Decompressor, Manifest, parse_manifest
from services.dumper.compression import CompressionOptions, block_compressor
from services.dumper.streaming import InflatedArtifact

KIB = 1024


def dump_text(size: int) -> bytes:
    rng = random.Random(5)
    lines = (b"%d\t%08x\tsome text\n" % (i, rng.getrandbits(32)) for i in range(size // 20))
    return b"".join(lines)[:size]


def artifact_of(text: bytes, compression: str, block: int = 50 * KIB) -> bytes:
    """Like the dumper: one gzip member or zstd frame per block, concatenated."""
    compress = block_compressor(compression, CompressionOptions())  # type: ignore[arg-type]
    return b"".join(compress(text[i : i + block]) for i in range(0, len(text), block))


def manifest_of(artifact: bytes, compression: str, step: int) -> Manifest:
    chunks = [
        {
            "seq": seq,
            "offset": offset,
            "size": len(artifact[offset : offset + step]),
            "sha256": hashlib.sha256(artifact[offset : offset + step]).hexdigest(),
        }
        for seq, offset in enumerate(range(0, len(artifact), step))
    ]
    body = {"compression": compression, "size": len(artifact), "chunks": chunks}
    return parse_manifest(json.dumps(body).encode(), "m.json")


async def blocks(data: bytes, size: int = 10 * KIB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_into(text: InflatedArtifact, pieces: list[bytes]) -> None:
    while (got := await text.next_piece()) is not None:
        pieces.append(got)


async def drain(artifact: bytes, manifest: Manifest, piece: int = 64 * KIB) -> list[bytes]:
    pieces = []
    async with InflatedArtifact(blocks(artifact), manifest, piece=piece, ahead=2) as text:
        while (got := await text.next_piece()) is not None:
            pieces.append(got)
    return pieces


class TestInflatedArtifact:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_members_and_frames_across_chunk_ends_come_back_in_order(self, compression):
        text = dump_text(600 * KIB)
        artifact = artifact_of(text, compression)
        manifest = manifest_of(artifact, compression, step=len(artifact) // 5 + 3)
        assert len(manifest.chunks) > 1
        assert b"".join(await drain(artifact, manifest)) == text

    async def test_pieces_stay_near_the_piece_size_whatever_the_ratio(self):
        text = b" " * (8 * 1024 * KIB)  # compresses about a thousand times
        artifact = gzip.compress(text)
        manifest = manifest_of(artifact, "gzip", step=len(artifact))
        pieces = await drain(artifact, manifest, piece=256 * KIB)
        assert b"".join(pieces) == text
        assert max(map(len, pieces)) < 2 * 1024 * KIB

    async def test_a_corrupt_chunk_is_raised_after_the_good_ones_and_never_inflated(self):
        text = dump_text(400 * KIB)
        artifact = bytearray(artifact_of(text, "zstd"))
        manifest = manifest_of(bytes(artifact), "zstd", step=len(artifact) // 4 + 1)
        bad = manifest.chunks[2]
        artifact[bad.offset + 10] ^= 0x01
        pieces: list[bytes] = []
        async with InflatedArtifact(blocks(bytes(artifact)), manifest, piece=KIB) as it:
            with pytest.raises(ArtifactError, match="artifact corrupt at chunk 2"):
                await read_into(it, pieces)
        good = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)
        assert len(b"".join(pieces)) <= len(good.decompress(bytes(artifact[: bad.offset])))
        assert it.chunks_verified == 2

    async def test_a_truncated_artifact_names_the_chunk_it_ends_in(self):
        artifact = artifact_of(dump_text(300 * KIB), "gzip")
        manifest = manifest_of(artifact, "gzip", step=len(artifact) // 3 + 1)
        with pytest.raises(ArtifactError, match="artifact truncated at chunk 2"):
            await drain(artifact[: manifest.chunks[2].offset + 5], manifest)

    async def test_leaving_early_stops_reading_and_closes_the_stream(self):
        closed = []

        async def endless() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x" * KIB
            finally:
                closed.append(True)

        artifact = artifact_of(dump_text(200 * KIB), "gzip")
        manifest = manifest_of(artifact, "gzip", step=len(artifact))
        async with InflatedArtifact(endless(), manifest) as text:
            with pytest.raises(ArtifactError):
                await text.next_piece()
        assert closed == [True]


class TestDecompressorSlices:
    def test_take_gives_pushed_members_back_in_bounded_calls(self):
        text = dump_text(300 * KIB)
        decompressor = Decompressor("gzip")
        decompressor.push(gzip.compress(text[:1000]) + gzip.compress(text[1000:]))
        out = []
        while got := decompressor.take(32 * KIB):
            out.append(got)
        decompressor.finish()
        assert b"".join(out) == text
        assert len(out) > 1
