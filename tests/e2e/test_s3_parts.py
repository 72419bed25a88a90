"""Big backups on S3: parts grow so the artifact fits the part limit, or it fails up front.

The dumper runs with a part limit forced down to 3 (DUMPER_MAX_PARTS) and parts of at most
16 MiB, so a database of tens of MiB plays the part of one of terabytes against S3's 10,000.
"""

import asyncio
import json
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from services.dumper.part_sizing import plan_parts
from tests.e2e.artifacts import assert_postgres_restores, assert_valid_archive
from tests.e2e.sources import postgres_fingerprint
from tests.e2e.test_s3 import assert_nothing_left_in_bucket, fetch_s3, s3_config
from tests.fixtures.resources import database_url, scratch_pg_database, unique
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MIB = 1024 * 1024
MAX_PARTS = 3
MAX_PART_SIZE = 16 * MIB
SMALLEST_PART = 5 * MIB  # E2E_SETTINGS' DUMPER_MIN_PART_SIZE


@pytest.fixture(scope="module")
def few_parts(stack: Stack) -> Iterator[Stack]:
    """The shared stack's dumper restarted with a tiny part limit, and back after."""
    stack.kill("dumper", signal.SIGTERM)
    stack.start(
        "dumper",
        extra={"DUMPER_MAX_PARTS": str(MAX_PARTS), "DUMPER_MAX_PART_SIZE": str(MAX_PART_SIZE)},
    )
    try:
        yield stack
    finally:
        stack.kill("dumper", signal.SIGTERM)
        stack.start("dumper")


async def random_blobs(url: str, mib: int) -> None:
    """`mib` MiB of incompressible bytes, one MiB a row."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL)")
        await conn.executemany(
            "INSERT INTO blobs VALUES ($1, $2)", [(i, os.urandom(MIB)) for i in range(mib)]
        )
    finally:
        await conn.close()


@pytest.fixture
async def blob_source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_parts_") as name:
        await random_blobs(database_url(postgres_url, name), 16)
        yield name


@pytest.fixture
async def huge_source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_huge_") as name:
        await random_blobs(database_url(postgres_url, name), 60)
        yield name


@pytest.fixture
async def growing_source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_grows_") as name:
        await random_blobs(database_url(postgres_url, name), 0)
        yield name


@pytest.fixture
async def restore_target(postgres_url: str) -> AsyncIterator[str]:
    name = unique("dbm_parts_restored_")
    yield name
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def dump_failed_seen(event_spy, snapshot_id: str) -> list[dict]:
    """The spy's events of the snapshot, once its DumpFailed is among them (the dumper
    publishes its ChunkStaged before it, on the queue the spy reads in order)."""
    events = await event_spy.once_seen(
        lambda e: e.get("snapshot_id") == snapshot_id and "exit_code" in e
    )
    return [e for e in events if e.get("snapshot_id") == snapshot_id]


@pytest.mark.usefixtures("few_parts")
class TestGrowingParts:
    async def test_a_backup_needing_bigger_parts_completes_and_restores(
        self, api, s3_server, s3_bucket, blob_source, postgres_url, restore_target, tmp_path
    ):
        server = await api.add_postgres_server()
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [pending] = await api.backup(server["id"], blob_source, volume["id"], "gzip")

        snapshot = await api.wait_terminal(pending["id"], timeout=240)

        assert snapshot["status"] == "completed", snapshot.get("error")
        # The smallest parts could not have held it within the limit: they had to grow.
        assert snapshot["size"] > MAX_PARTS * SMALLEST_PART
        manifest = json.loads(
            s3_server.client().get_object(s3_bucket, snapshot["manifest_path"]).read()
        )
        chunks = manifest["chunks"]
        assert len(chunks) <= MAX_PARTS
        assert all(SMALLEST_PART < c["size"] <= MAX_PART_SIZE for c in chunks[:-1])
        artifact = fetch_s3(s3_server, s3_bucket, snapshot["path"], tmp_path / "artifact")
        assert_valid_archive(artifact, "gzip")
        await assert_postgres_restores(artifact, "gzip", postgres_url, blob_source)
        assert_nothing_left_in_bucket(s3_server, s3_bucket, snapshot, "")

        record = await api.wait_restore(
            (await api.restore(snapshot["id"], server["id"], restore_target))["id"], timeout=240
        )

        assert record["status"] == "completed", record.get("error")
        assert await postgres_fingerprint(
            database_url(postgres_url, restore_target)
        ) == await postgres_fingerprint(database_url(postgres_url, blob_source))

    async def test_the_next_backup_is_sized_by_the_last_snapshot(
        self, api, s3_server, s3_bucket, blob_source, event_spy
    ):
        server = await api.add_postgres_server()
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [first] = await api.backup(server["id"], blob_source, volume["id"], "gzip")
        last = await api.wait_terminal(first["id"], timeout=240)
        assert last["status"] == "completed", last.get("error")

        [second] = await api.backup(server["id"], blob_source, volume["id"], "gzip")
        snapshot = await api.wait_terminal(second["id"], timeout=240)

        assert snapshot["status"] == "completed", snapshot.get("error")
        # The dumper remembered the first dump's size and planned the second's parts by it,
        # not by the database's size on the server (bigger: pages, TOAST, indexes).
        by_last_dump = plan_parts(
            last["size"],
            min_part_size=SMALLEST_PART,
            max_part_size=MAX_PART_SIZE,
            max_parts=MAX_PARTS,
        )
        events = await event_spy.once_seen(
            lambda e: e.get("snapshot_id") == second["id"] and "part_size" in e and "attempt" in e
        )
        [started] = [e for e in events if e.get("snapshot_id") == second["id"] and "attempt" in e]
        assert started["part_size"] == by_last_dump.part_size

    async def test_a_dump_that_outgrows_its_plan_fails_mid_dump_leaving_nothing(
        self, api, s3_server, s3_bucket, growing_source, postgres_url, event_spy
    ):
        """The last snapshot was tiny, so the plan is the smallest parts; the database grew."""
        server = await api.add_postgres_server()
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [first] = await api.backup(server["id"], growing_source, volume["id"], "gzip")
        tiny = await api.wait_terminal(first["id"], timeout=240)
        assert tiny["status"] == "completed", tiny.get("error")
        conn = await asyncpg.connect(database_url(postgres_url, growing_source))
        try:
            await conn.executemany(
                "INSERT INTO blobs VALUES ($1, $2)", [(i, os.urandom(MIB)) for i in range(16)]
            )
        finally:
            await conn.close()

        [pending] = await api.backup(server["id"], growing_source, volume["id"], "gzip")
        snapshot = await api.wait_terminal(pending["id"], timeout=240)

        assert snapshot["status"] == "failed"
        assert snapshot["error"].startswith("the dump outgrew its plan: 3 parts of 5.0 MiB"), (
            snapshot["error"]
        )
        assert "more than the volume allows (3)" in snapshot["error"]
        events = await dump_failed_seen(event_spy, pending["id"])
        assert len([e for e in events if "staged_key" in e]) == MAX_PARTS
        assert not [e for e in events if "chunk_count" in e], "it never finished the dump"
        client = s3_server.client()
        async with asyncio.timeout(30):  # the uploader aborts on DumpFailed, maybe just after
            while client._list_multipart_uploads(s3_bucket).uploads:
                await asyncio.sleep(0.2)
        keys = {o.object_name for o in client.list_objects(s3_bucket, recursive=True)}
        assert keys == {tiny["path"], tiny["manifest_path"]}

    async def test_a_backup_too_big_even_for_the_largest_parts_fails_up_front(
        self, api, s3_server, s3_bucket, huge_source, event_spy
    ):
        server = await api.add_postgres_server()
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [pending] = await api.backup(server["id"], huge_source, volume["id"], "gzip")

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "failed"
        assert re.match(
            r"the database is about \d+\.\d MiB; with parts of 16\.0 MiB that needs [4-9] "
            r"parts, more than the volume allows \(3\)",
            snapshot["error"],
        ), snapshot["error"]
        events = await dump_failed_seen(event_spy, pending["id"])
        assert not [e for e in events if "staged_key" in e], "nothing was dumped"
        assert not [e for e in events if "tool_version" in e], "the tool never started"
