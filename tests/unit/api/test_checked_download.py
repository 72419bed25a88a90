"""A streamed download yields each chunk only once it matches the catalog's sha256."""

import hashlib
from collections.abc import AsyncIterator

import pytest

from services.api.checked_download import (
    ArtifactMismatchError,
    ExpectedChunk,
    checked_blocks,
    expected_chunks,
)

CHUNKS = [b"a" * 1000, b"b" * 500, b"c" * 10]


def recorded(chunks: list[bytes]) -> list[ExpectedChunk]:
    return [
        ExpectedChunk(seq, len(data), hashlib.sha256(data).hexdigest())
        for seq, data in enumerate(chunks)
    ]


async def blocks(data: bytes, size: int = 333) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def drain(stream: AsyncIterator[bytes], into: list[bytes]) -> None:
    async for block in stream:  # one by one: what was sent before a failure is kept
        into.append(block)  # noqa: PERF401


class TestCheckedBlocks:
    async def test_the_recorded_artifact_streams_whole(self):
        sent: list[bytes] = []

        await drain(checked_blocks(blocks(b"".join(CHUNKS)), recorded(CHUNKS)), sent)

        assert sent == CHUNKS

    async def test_a_forged_chunk_stops_the_stream_before_its_first_byte(self):
        forged = [CHUNKS[0], b"B" * 500, CHUNKS[2]]
        sent: list[bytes] = []

        with pytest.raises(ArtifactMismatchError, match=r"sha256 of chunk 1\)$"):
            await drain(checked_blocks(blocks(b"".join(forged)), recorded(CHUNKS)), sent)
        assert sent == [CHUNKS[0]]

    @pytest.mark.parametrize(
        ("data", "reason"),
        [(b"".join(CHUNKS)[:-1], "ends inside chunk 2"), (b"".join(CHUNKS) + b"x", "longer")],
    )
    async def test_a_shorter_or_longer_artifact_is_cut(self, data, reason):
        with pytest.raises(ArtifactMismatchError, match=reason):
            await drain(checked_blocks(blocks(data), recorded(CHUNKS)), [])

    def test_the_catalogs_manifest_gives_the_chunk_list(self):
        manifest = {"chunks": [{"seq": 0, "offset": 0, "size": 3, "sha256": "d" * 64}]}

        assert expected_chunks(manifest) == [ExpectedChunk(0, 3, "d" * 64)]
        with pytest.raises(ValueError, match="no chunk list"):
            expected_chunks({})
