"""Reading an artifact back: manifest checks, chunk cutting and checksums, decompression."""

import gzip
import hashlib
import json
from collections.abc import AsyncIterator

import pytest
import zstandard

from services.dumper.artifact import (
    ArtifactError,
    Decompressor,
    check_chunk,
    chunks_of,
    parse_manifest,
)


def manifest_of(artifact: bytes, pieces: int, compression: str = "gzip") -> bytes:
    step = len(artifact) // pieces + 1
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
    return json.dumps(body).encode()


async def blocks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def restored(artifact: bytes, manifest: bytes) -> bytes:
    parsed = parse_manifest(manifest, "m.json")
    decompressor = Decompressor(parsed.compression)
    out = []
    async for chunk, data in chunks_of(blocks(artifact), parsed):
        check_chunk(chunk, data)
        out.append(decompressor.feed(data))
    decompressor.finish()
    return b"".join(out)


TEXT = b"".join(b"INSERT INTO t VALUES (%d);\n" % i for i in range(2000))


class TestRoundTrip:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_concatenated_members_cut_anywhere_come_back_whole(self, compression):
        half = len(TEXT) // 2
        if compression == "gzip":
            artifact = gzip.compress(TEXT[:half]) + gzip.compress(TEXT[half:])
        else:
            z = zstandard.ZstdCompressor()
            artifact = z.compress(TEXT[:half]) + z.compress(TEXT[half:])
        assert await restored(artifact, manifest_of(artifact, 5, compression)) == TEXT


class TestDamage:
    async def test_a_flipped_byte_names_its_chunk(self):
        artifact = gzip.compress(TEXT)
        manifest = manifest_of(artifact, 4)
        step = len(artifact) // 4 + 1
        broken = bytearray(artifact)
        broken[2 * step + 3] ^= 0xFF
        with pytest.raises(ArtifactError, match=r"^artifact corrupt at chunk 2"):
            await restored(bytes(broken), manifest)

    async def test_a_short_artifact_names_the_chunk_it_ends_in(self):
        artifact = gzip.compress(TEXT)
        manifest = manifest_of(artifact, 4)
        with pytest.raises(ArtifactError, match=r"^artifact truncated at chunk 3"):
            await restored(artifact[:-5], manifest)

    async def test_an_artifact_longer_than_its_manifest_is_corrupt(self):
        artifact = gzip.compress(TEXT)
        manifest = manifest_of(artifact, 4)
        with pytest.raises(ArtifactError, match="longer than its manifest"):
            await restored(artifact + b"x", manifest)

    def test_a_manifest_whose_chunks_do_not_add_up_is_refused(self):
        body = json.loads(manifest_of(gzip.compress(TEXT), 3))
        body["size"] += 1
        with pytest.raises(ArtifactError, match=r"^manifest unreadable: m\.json"):
            parse_manifest(json.dumps(body).encode(), "m.json")

    def test_a_stream_ending_inside_a_member_is_refused(self):
        decompressor = Decompressor("zstd")
        decompressor.feed(zstandard.ZstdCompressor().compress(TEXT)[:-4])
        with pytest.raises(ArtifactError, match="ends inside a zstd member"):
            decompressor.finish()
