"""Backups that cannot succeed end failed, with a sentence naming the cause, leaving nothing.

No staged chunk and no part file may survive a failed backup, and nothing stays in progress.
What the dumper can tell before dumping (wrong password, unreachable server, no such
database) is refused at request time: 422 with the sentence, and nothing queued.
When the same causes arise after a backup was accepted, the snapshot ends failed with the
dumper's sentence.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.artifacts import assert_no_leftovers
from tests.e2e.client import Api
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import MariaDB, database_url, unique
from tests.support.env import free_port
from tests.support.proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def maria_user(mariadb: MariaDB, maria_database: str) -> Iterator[tuple[str, str, str]]:
    """A MariaDB user with a real password and rights on one database: (user, password, db)."""
    user, password = unique("dbm_u"), unique("pw-")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"GRANT ALL ON `{maria_database}`.* TO '{user}'@'%'")
        cur.execute(f"CREATE TABLE `{maria_database}`.t (id INT PRIMARY KEY)")
    yield user, password, maria_database
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


async def refused(api: Api, server: dict, database: str, volume_dir: Path) -> str:
    """The refusal's sentence; and no snapshot of the server was queued."""
    volume = await api.add_local_volume(volume_dir)
    detail = await api.refused_backup(server["id"], database, volume["id"])
    assert await api.snapshots(server_id=server["id"]) == []
    return detail


async def backup_and_wait(api: Api, server: dict, database: str, volume_dir: Path) -> dict:
    volume = await api.add_local_volume(volume_dir)
    [pending] = await api.backup(server["id"], database, volume["id"])
    return await api.wait_terminal(pending["id"])


class TestBackupFailures:
    async def test_wrong_password_is_refused_naming_access_denied(
        self, api, mariadb, maria_user, volume_dir
    ):
        user, _password, database = maria_user
        server = await api.add_maria_server(mariadb, username=user, password="definitely-wrong")
        error = await refused(api, server, database, volume_dir)
        assert "access denied" in error.lower()
        assert "definitely-wrong" not in error
        assert not list(volume_dir.rglob("*")), "nothing may be written for a refused request"

    async def test_unreachable_host_is_refused_naming_the_connection(self, api, volume_dir):
        port = free_port()
        server = await api.add_postgres_server(port=port)
        error = (await refused(api, server, "anything", volume_dir)).lower()
        assert "connect" in error or "unreachable" in error or "refused" in error, error

    async def test_missing_database_is_refused_naming_it(self, api, volume_dir):
        server = await api.add_postgres_server()
        missing = unique("no_such_db_")
        error = await refused(api, server, missing, volume_dir)
        assert error == f"database {missing!r} does not exist on server {server['name']!r}"

    async def test_full_local_volume_fails_saying_so(self, api, stack, postgres_url, tmp_path):
        """A 1 MiB tmpfs is a real full disk: the artifact cannot fit."""
        mount_point = tmp_path / "tiny"
        mount_point.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
        try:
            server = await api.add_postgres_server()
            source = await _bulky_pg_database(postgres_url)
            try:
                snapshot = await backup_and_wait(api, server, source, mount_point)
            finally:
                await _drop_pg_database(postgres_url, source)
            assert snapshot["status"] == "failed"
            assert "full" in snapshot["error"].lower() or "no space" in snapshot["error"].lower()
            assert_no_leftovers(stack, mount_point, snapshot["id"])
            assert not list(mount_point.rglob("*.sql.gz")), "a partial artifact is visible"
        finally:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def _bulky_pg_database(postgres_url: str) -> str:
    """A database whose dump compresses to several MiB: more than the tiny volume holds."""
    name = unique("dbm_bulky_")
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(database_url(postgres_url, name))
    await conn.execute(
        "CREATE TABLE blobs AS SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text) AS h"
        " FROM generate_series(1, 200000) g"
    )
    await conn.close()
    return name


async def _drop_pg_database(postgres_url: str, name: str) -> None:
    drop_pg_database_later(postgres_url, name)


async def accepted_then_failed(api: Api, server: dict, database: str, volume: dict) -> dict:
    """A backup accepted on the api's remembered database list, which then fails in the dumper."""
    [pending] = await api.backup(server["id"], database, volume["id"])
    return await api.wait_terminal(pending["id"])


class TestFailuresAfterAcceptance:
    """What changes between the api's check and the dump ends failed with the dumper's reason.

    The api remembers a server's database list for `API_DATABASE_LIST_TTL` seconds, so a first
    successful backup warms it; then the world changes under the accepted second one.
    """

    async def test_password_changed_on_the_server_fails_naming_access_denied(
        self, api, stack, mariadb, maria_user, volume_dir
    ):
        user, password, database = maria_user
        server = await api.add_maria_server(mariadb, username=user, password=password)
        volume = await api.add_local_volume(volume_dir)
        first = await accepted_then_failed(api, server, database, volume)
        assert first["status"] == "completed", first.get("error")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"ALTER USER '{user}'@'%' IDENTIFIED BY 'rotated-elsewhere'")

        snapshot = await accepted_then_failed(api, server, database, volume)

        assert snapshot["status"] == "failed"
        assert "access denied" in snapshot["error"].lower(), snapshot["error"]
        assert password not in snapshot["error"]
        assert_no_leftovers(stack, volume_dir, snapshot["id"])

    async def test_database_dropped_after_the_check_fails_naming_it(
        self, api, stack, mariadb, volume_dir
    ):
        database = unique("dbm_gone_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}`")
            cur.execute(f"CREATE TABLE `{database}`.t (id INT PRIMARY KEY)")
        server = await api.add_maria_server(mariadb)
        volume = await api.add_local_volume(volume_dir)
        first = await accepted_then_failed(api, server, database, volume)
        assert first["status"] == "completed", first.get("error")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE `{database}`")

        snapshot = await accepted_then_failed(api, server, database, volume)

        assert snapshot["status"] == "failed"
        assert database in snapshot["error"], snapshot["error"]
        assert_no_leftovers(stack, volume_dir, snapshot["id"])

    async def test_server_unreachable_after_the_check_fails_naming_the_connection(
        self, api, stack, pg_source, volume_dir
    ):
        proxy = TcpProxy("127.0.0.1", 5432)
        await proxy.open()
        try:
            server = await api.add_postgres_server(port=proxy.port)
            volume = await api.add_local_volume(volume_dir)
            first = await accepted_then_failed(api, server, pg_source, volume)
            assert first["status"] == "completed", first.get("error")
            await proxy.close()

            snapshot = await accepted_then_failed(api, server, pg_source, volume)
        finally:
            await proxy.close()

        assert snapshot["status"] == "failed"
        error = snapshot["error"].lower()
        assert "connect" in error or "unreachable" in error or "refused" in error, error
        assert_no_leftovers(stack, volume_dir, snapshot["id"])
