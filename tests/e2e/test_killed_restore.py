"""A dumper killed in the middle of a restore: no database with the target's name is left,
and the redelivered restore completes into it."""

import asyncio
import signal
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from services.dumper.work_target import work_database
from tests.fixtures.resources import database_url, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW_SOURCE = """
CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.003); RETURN x; END $$;
CREATE TABLE items (id int PRIMARY KEY, txt text);
INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
CREATE INDEX items_slow ON items (slow_key(id));
"""
"""Restoring it takes several seconds: the index calls the slow function for every row."""


@pytest.fixture
async def databases(postgres_url: str) -> AsyncIterator[tuple[str, str]]:
    """A slow-to-restore source and a target name; both dropped at the end."""
    source, target = unique("dbm_slow_"), unique("dbm_restored_")
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{source}"')
    conn = await asyncpg.connect(database_url(postgres_url, source))
    await conn.execute(SLOW_SOURCE)
    await conn.close()
    yield source, target
    for name in (source, target):
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def exists(postgres_url: str, name: str) -> bool:
    admin = await asyncpg.connect(postgres_url)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def has_items(postgres_url: str, name: str) -> bool:
    if not await exists(postgres_url, name):
        return False
    conn = await asyncpg.connect(database_url(postgres_url, name))
    try:
        return bool(await conn.fetchval("SELECT to_regclass('items') IS NOT NULL"))
    finally:
        await conn.close()


class TestDumperKilledMidRestore:
    async def test_no_partial_target_is_left_and_the_redelivery_completes(
        self, api, stack, postgres_url, databases, volume_dir
    ):
        source, target = databases
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [pending] = await api.backup(server["id"], source, volume["id"])
        snapshot = await api.wait_terminal(pending["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")

        accepted = await api.restore(snapshot["id"], server["id"], target)
        work = work_database(UUID(accepted["id"]))
        try:
            async with asyncio.timeout(120):
                while not await has_items(postgres_url, work):
                    await asyncio.sleep(0.2)
            stack.kill("dumper", signal.SIGKILL)
            assert not await exists(postgres_url, target)
        finally:
            if "dumper" not in stack.processes:
                stack.start("dumper")

        record = await api.wait_restore(accepted["id"], timeout=240)

        assert record["status"] == "completed", record.get("error")
        assert not await exists(postgres_url, work)
        conn = await asyncpg.connect(database_url(postgres_url, target))
        try:
            assert await conn.fetchval("SELECT count(*) FROM items") == 2000
            assert await conn.fetchval("SELECT to_regclass('items_slow') IS NOT NULL")
        finally:
            await conn.close()
