"""The local staging area: atomic puts, per-attempt counting and clean-up."""

from uuid import uuid4

import pytest

from shared.events import chunk_key
from shared.staging import LocalStaging, StagingError, attempt_prefix


class TestChunkKeys:
    def test_chunks_of_one_attempt_share_its_prefix(self):
        snapshot, attempt = uuid4(), uuid4()

        key = chunk_key(snapshot, attempt, 7)

        assert key == f"{snapshot}/{attempt}/000007.chunk"
        assert key.startswith(attempt_prefix(snapshot, attempt))
        assert key.startswith(attempt_prefix(snapshot))


class TestLocalStaging:
    async def test_put_then_get_returns_the_bytes(self, tmp_path):
        staging = LocalStaging(tmp_path)
        key = chunk_key(uuid4(), uuid4(), 0)

        await staging.put(key, b"\x1f\x8bchunk")

        assert await staging.get(key) == b"\x1f\x8bchunk"
        assert staging.local_path(key).read_bytes() == b"\x1f\x8bchunk"
        assert not list(tmp_path.rglob("*.tmp"))

    async def test_count_sees_only_the_attempt_asked_for(self, tmp_path):
        staging = LocalStaging(tmp_path)
        snapshot, attempt, other = uuid4(), uuid4(), uuid4()
        for seq in range(3):
            await staging.put(chunk_key(snapshot, attempt, seq), b"x")
        await staging.put(chunk_key(snapshot, other, 0), b"y")

        assert await staging.count(attempt_prefix(snapshot, attempt)) == 3
        assert await staging.count(attempt_prefix(snapshot, other)) == 1
        assert await staging.count(attempt_prefix(uuid4(), uuid4())) == 0

    async def test_delete_removes_one_chunk_and_tolerates_missing(self, tmp_path):
        staging = LocalStaging(tmp_path)
        snapshot, attempt = uuid4(), uuid4()
        await staging.put(chunk_key(snapshot, attempt, 0), b"x")
        await staging.put(chunk_key(snapshot, attempt, 1), b"x")

        await staging.delete(chunk_key(snapshot, attempt, 0))
        await staging.delete(chunk_key(snapshot, attempt, 0))

        assert await staging.count(attempt_prefix(snapshot, attempt)) == 1

    async def test_delete_prefix_removes_every_attempt_of_a_snapshot(self, tmp_path):
        staging = LocalStaging(tmp_path)
        snapshot, kept = uuid4(), uuid4()
        for attempt in (uuid4(), uuid4()):
            for seq in range(2):
                await staging.put(chunk_key(snapshot, attempt, seq), b"x")
        await staging.put(chunk_key(kept, uuid4(), 0), b"k")

        removed = await staging.delete_prefix(attempt_prefix(snapshot))

        assert removed == 4
        assert await staging.count(attempt_prefix(snapshot)) == 0
        assert await staging.delete_prefix(attempt_prefix(snapshot)) == 0
        assert len(list(tmp_path.rglob("*.chunk"))) == 1

    async def test_get_of_a_missing_chunk_raises_staging_error_naming_it(self, tmp_path):
        key = chunk_key(uuid4(), uuid4(), 3)

        with pytest.raises(StagingError, match=key):
            await LocalStaging(tmp_path).get(key)

    async def test_put_into_an_unwritable_area_raises_staging_error(self, tmp_path):
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        staging = LocalStaging(blocker)

        with pytest.raises(StagingError, match="staging area"):
            await staging.put(chunk_key(uuid4(), uuid4(), 0), b"x")
