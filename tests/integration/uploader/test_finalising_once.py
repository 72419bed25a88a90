"""Two attempts of one snapshot complete on one volume (a dumper was taken over while its
first attempt still ran): one finalises the artifact, and the other never overwrites it."""

from contextlib import AsyncExitStack
from uuid import uuid4

import asyncpg
import pytest

from services.uploader.adapters.db import UploadRepository
from services.uploader.upload import ChunkRecord, UploadKey

pytestmark = [pytest.mark.integration]

SCHEMA = "uploader"


async def complete_attempt(uploads: UploadRepository, key: UploadKey) -> None:
    """An open upload whose every chunk is stored and whose dump has finished."""

    async def begin() -> str:
        return f"upload-{key.attempt_id}"

    await uploads.open_upload(key, "s/db/x.sql.gz", begin)
    assert await uploads.record_chunk(key, ChunkRecord(0, 10, 20, "ab" * 32)) == "open"
    await uploads.record_finished(key, 1, {"chunk_count": 1})


@pytest.fixture
async def uploads(pg_database):
    pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=4)
    yield UploadRepository(pool, SCHEMA)
    await pool.close()


async def test_an_attempt_waits_while_another_finalises_and_stands_down_once_it_is_stored(
    uploads,
):
    snapshot_id, volume_id = uuid4(), uuid4()
    first = UploadKey(snapshot_id, uuid4(), volume_id)
    second = UploadKey(snapshot_id, uuid4(), volume_id)
    await complete_attempt(uploads, first)
    await complete_attempt(uploads, second)

    async with AsyncExitStack() as finalising_first:
        plan = await finalising_first.enter_async_context(uploads.finalising(first))
        assert plan is not None
        async with uploads.finalising(second) as meanwhile:
            assert meanwhile is None  # the first is writing the artifact
    async with uploads.finalising(second) as after:
        assert after is None  # the first is stored: the second never overwrites it

    states = await uploads.attempt_states(snapshot_id, first.attempt_id)
    assert states == {volume_id: "stored"}
    assert await uploads.attempt_states(snapshot_id, second.attempt_id) == {volume_id: "open"}


async def test_attempts_on_other_volumes_or_snapshots_finalise_side_by_side(uploads):
    snapshot_id = uuid4()
    keys = [
        UploadKey(snapshot_id, uuid4(), uuid4()),
        UploadKey(snapshot_id, uuid4(), uuid4()),
        UploadKey(uuid4(), uuid4(), uuid4()),
    ]
    for key in keys:
        await complete_attempt(uploads, key)
    async with AsyncExitStack() as held:
        plans = [await held.enter_async_context(uploads.finalising(key)) for key in keys]
        assert all(plan is not None for plan in plans)
