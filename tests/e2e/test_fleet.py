"""Whole-server backups, and a dumper that dies in the middle of a dump."""

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.artifacts import assert_no_leftovers
from tests.fixtures.resources import MariaDB, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def three_databases(mariadb: MariaDB) -> Iterator[tuple[str, str, list[str]]]:
    """A MariaDB user who sees exactly three databases: (user, password, names)."""
    user, password = unique("dbm_u"), unique("pw-")
    names = [unique("dbm_fleet_") for _ in range(3)]
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        for i, name in enumerate(names):
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.things (id INT PRIMARY KEY, label TEXT)")
            cur.execute(f"INSERT INTO `{name}`.things VALUES ({i}, 'thing {i}')")
            cur.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
    yield user, password, names
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


class TestWholeServerBackup:
    async def test_null_database_backs_up_each_database_once(
        self, api, mariadb, three_databases, volume_dir
    ):
        user, password, names = three_databases
        server = await api.add_maria_server(mariadb, username=user, password=password)
        volume = await api.add_local_volume(volume_dir)

        pending = await api.backup(server["id"], None, volume["id"])

        assert sorted(s["database"] for s in pending) == sorted(names)
        finished = await asyncio.gather(*(api.wait_terminal(s["id"]) for s in pending))
        assert [s["status"] for s in finished] == ["completed"] * 3, [
            s.get("error") for s in finished
        ]
        for snapshot in finished:
            assert (volume_dir / snapshot["path"]).is_file()


class TestDumperCrash:
    async def test_dumper_killed_mid_dump_ends_completed_or_failed(
        self, api, stack, pg_source, volume_dir
    ):
        """With the uploader stopped, back-pressure holds the dump midway; then it is killed."""
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        stack.kill("uploader", signal.SIGTERM)
        try:
            [pending] = await api.backup(server["id"], pg_source, volume["id"])

            async def dumping() -> bool:
                snapshot = await api.snapshot(pending["id"])
                return snapshot["status"] == "in_progress" and snapshot["bytes_dumped"] > 0

            for _ in range(150):
                if await dumping():
                    break
                await asyncio.sleep(0.2)
            assert await dumping(), "the dump never started"
            stack.kill("dumper", signal.SIGKILL)
        finally:
            stack.start("uploader")
            if "dumper" not in stack.processes:
                stack.start("dumper")

        snapshot = await api.wait_terminal(pending["id"], timeout=180)

        assert snapshot["status"] in {"completed", "failed"}
        if snapshot["status"] == "failed":
            assert snapshot["error"]
        else:
            assert (Path(volume_dir) / snapshot["path"]).is_file()
        assert_no_leftovers(stack, volume_dir, snapshot["id"])
