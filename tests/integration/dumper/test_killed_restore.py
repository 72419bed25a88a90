"""A restore stopped or killed midway leaves no partial target: PostgreSQL restores into a
temporary database renamed at the end; MariaDB marks the target it writes and drops it.
What a killed attempt leaves is dropped by the next attempt of the same restore."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.dumper import work_target
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.targets import TargetGateway
from services.dumper.restoring import Restorer
from services.dumper.work_target import restore_mark, work_database
from shared.events import Event, RestoreFinished, RestoreRequested
from shared.volumes import open_volume
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import DumperStack, maria_spec, pg_url
from tests.integration.dumper.test_restore import (
    MARIA_FINGERPRINT,
    MARIA_SOURCE,
    backup_to_volume,
    database_exists,
    existing_target,
    fingerprint,
    restore_request,
)

pytestmark = pytest.mark.integration


class StallingVolume:
    """The real volume, whose `stall_on`th artifact stream stops after its first block for
    good (an overwrite reads the artifact once through before it restores); manifests are
    read whole."""

    def __init__(self, volume: Any, stall_on: int) -> None:
        self._volume = volume
        self._stall_on = stall_on

    async def read(self, key: str) -> bytes:
        data: bytes = await self._volume.read(key)
        return data

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        if key.endswith(".manifest.json"):  # the manifest is read as a stream too
            async for block in self._volume.open_stream(key):
                yield block
            return
        self._stall_on -= 1
        async for block in self._volume.open_stream(key):
            yield block
            if self._stall_on == 0:
                await asyncio.Event().wait()


def restorer(stack: DumperStack, events: list[Event], *, stall_on: int = 0) -> Restorer:
    async def publish(event: Event) -> None:
        events.append(event)

    finder = ToolFinder(postgres_glob="/usr/lib/postgresql/*/bin", search_dirs=[])
    return Restorer(
        sealer=stack.sealer,
        targets=TargetGateway(finder, connect_timeout=5),
        open_volume=lambda spec: StallingVolume(open_volume(spec), stall_on),
        publish=publish,
    )


async def stopped_midway(
    stack: DumperStack, request: RestoreRequested, written: Any, *, stall_on: int = 1
) -> None:
    """Run `request` until `written()` says the client has written something, then stop it."""
    task = asyncio.create_task(restorer(stack, [], stall_on=stall_on).restore(request))
    try:
        async with asyncio.timeout(60):
            while not await written():
                if task.done():
                    pytest.fail(f"the restore ended before it wrote: {task.result()!r}")
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def pg_has_table(postgres_url: str, database: str, table: str) -> bool:
    if not await database_exists(postgres_url, database):
        return False
    conn = await asyncpg.connect(pg_url(postgres_url, database))
    try:
        return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))
    finally:
        await conn.close()


def kill_leaves_its_work(monkeypatch) -> None:
    """As if the dumper were killed: nothing it would clean up on the way out runs."""

    async def nothing(_self: object) -> None:
        return None

    monkeypatch.setattr(work_target.WorkTarget, "discard", nothing)


class TestPostgresKilledRestore:
    async def test_a_killed_restore_leaves_no_target_and_the_next_attempt_completes(
        self, dumper, postgres_url, shop, target, tmp_path, monkeypatch
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        request = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        work = work_database(request.restore_id)
        kill_leaves_its_work(monkeypatch)
        await stopped_midway(dumper, request, lambda: pg_has_table(postgres_url, work, "items"))

        assert not await database_exists(postgres_url, target)
        assert await database_exists(postgres_url, work)  # what the kill left
        monkeypatch.undo()
        events: list[Event] = []
        outcome = await restorer(dumper, events).restore(request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert await fingerprint(postgres_url, target) == await fingerprint(postgres_url, shop)
        assert not await database_exists(postgres_url, work)

    async def test_a_stopped_restore_drops_its_work_and_an_overwritten_target_stays_whole(
        self, dumper, postgres_url, shop, target, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        await existing_target(postgres_url, target)
        request = restore_request(
            dumper, postgres_url, target, root=tmp_path, keys=keys, overwrite=True
        )
        work = work_database(request.restore_id)
        await stopped_midway(
            dumper, request, lambda: pg_has_table(postgres_url, work, "items"), stall_on=2
        )

        assert not await database_exists(postgres_url, work)
        assert await pg_has_table(postgres_url, target, "old_stuff")
        outcome = await restorer(dumper, []).restore(request)
        assert isinstance(outcome, RestoreFinished), outcome
        assert not await pg_has_table(postgres_url, target, "old_stuff")
        assert await fingerprint(postgres_url, target) == await fingerprint(postgres_url, shop)


class TestMariadbKilledRestore:
    @pytest.fixture
    def maria_source(self, mariadb: MariaDB):
        source, target = unique("dbm_src_"), unique("dbm_restore_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
        with mariadb.connect(source) as conn, conn.cursor() as cur:
            for statement in MARIA_SOURCE:
                cur.execute(statement)
            conn.commit()
        yield source, target
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
            cur.execute(f"DROP DATABASE IF EXISTS `{target}`")

    @staticmethod
    def tables(mariadb: MariaDB, database: str) -> set[str] | None:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (database,))
            if not cur.fetchall():
                return None
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (database,),
            )
            return {row[0] for row in cur.fetchall()}

    @pytest.mark.parametrize("killed", [False, True])
    async def test_a_stopped_or_killed_restore_leaves_nothing_once_the_next_attempt_ran(
        self, dumper, mariadb, maria_source, tmp_path, monkeypatch, killed
    ):
        source, target = maria_source
        spec = maria_spec(mariadb)
        keys = await backup_to_volume(
            dumper, spec, source, tmp_path, "zstd", table_rows={"items": 20000}
        )
        request = restore_request(dumper, spec, target, root=tmp_path, keys=keys)
        mark = restore_mark(request.restore_id)
        if killed:
            kill_leaves_its_work(monkeypatch)

        async def written() -> bool:
            return "items" in (self.tables(mariadb, target) or set())

        await stopped_midway(dumper, request, written)

        left = self.tables(mariadb, target)
        if killed:
            assert left is not None
            assert {mark, "items"} <= left
        else:
            assert left is None
        monkeypatch.undo()
        outcome = await restorer(dumper, []).restore(request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert self.tables(mariadb, target) == {"items", "happy"}
        with mariadb.connect(source) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION group_concat_max_len = 100000000")
            cur.execute(MARIA_FINGERPRINT)
            expected = cur.fetchone()
        with mariadb.connect(target) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION group_concat_max_len = 100000000")
            cur.execute(MARIA_FINGERPRINT)
            assert cur.fetchone() == expected
