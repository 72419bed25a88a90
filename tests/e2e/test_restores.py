"""Restores and verifies end to end: back up, restore through the API, compare.

Round trips compare every table's checksum and every object's definition with the source.
Damage is done on the local volume itself (one flipped byte, a cut file, a missing manifest,
an altered row count) and put back afterwards, so one backup serves several tests.
Every database a test creates is dropped at its end, whatever the outcome.
"""

import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.naming import manifest_key
from tests.e2e.cli import Cli, assert_one_sentence
from tests.e2e.client import Api
from tests.e2e.sources import mariadb_fingerprint, postgres_fingerprint
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import MariaDB, database_url, unique
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXIT_FAILED = 3


@dataclass(frozen=True)
class Backup:
    """A completed snapshot on a local volume, and the server it came from."""

    snapshot: dict[str, Any]
    server: dict[str, Any]
    volume: Path

    @property
    def id(self) -> str:
        return str(self.snapshot["id"])

    @property
    def artifact(self) -> Path:
        return self.volume / self.snapshot["path"]

    @property
    def manifest_path(self) -> Path:
        return self.volume / manifest_key(self.snapshot["path"])

    def manifest(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.manifest_path.read_text())
        return loaded


async def back_up(
    api: Api, server: dict[str, Any], database: str, volume: Path, compression: str
) -> Backup:
    registered = await api.add_local_volume(volume)
    [pending] = await api.backup(server["id"], database, registered["id"], compression)
    snapshot = await api.wait_terminal(pending["id"])
    assert snapshot["status"] == "completed", snapshot.get("error")
    return Backup(snapshot, server, volume)


@contextmanager
def damaged(path: Path, damage: Callable[[Path], None]) -> Iterator[None]:
    """`path` damaged by `damage` for the duration, then put back byte for byte."""
    original = path.read_bytes()
    try:
        damage(path)
        yield
    finally:
        path.write_bytes(original)


def chunk_at(manifest: dict[str, Any], offset: int) -> int:
    """The seq of the chunk holding the artifact's byte at `offset`."""
    for chunk in manifest["chunks"]:
        if chunk["offset"] <= offset < chunk["offset"] + chunk["size"]:
            return int(chunk["seq"])
    raise AssertionError(f"no chunk holds offset {offset}")


@pytest.fixture(scope="module")
async def module_api(stack: Stack) -> AsyncIterator[Api]:
    client = Api(stack.api_url, stack.token)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def pg_server(module_api: Api) -> dict[str, Any]:
    return await module_api.add_postgres_server()


@pytest.fixture(scope="module")
async def pg_backup(
    module_api: Api, pg_server: dict[str, Any], pg_source: str, tmp_path_factory
) -> Backup:
    """One gzip backup of the rich PostgreSQL source, shared by the tests of this module."""
    volume = tmp_path_factory.mktemp("restore-volume")
    backup = await back_up(module_api, pg_server, pg_source, volume, "gzip")
    assert len(backup.manifest()["chunks"]) >= 3, "the source must span several chunks"
    return backup


class PgTargets:
    """Names of PostgreSQL databases a test may create; every one is dropped at its end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.names: list[str] = []

    def new(self) -> str:
        name = unique("dbm_restored_")
        self.names.append(name)
        return name

    def url(self, name: str) -> str:
        return database_url(self.admin_url, name)

    async def exists(self, name: str) -> bool:
        admin = await asyncpg.connect(self.admin_url)
        try:
            found = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await admin.close()
        return bool(found)

    async def create(self, name: str, sql: str) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(self.url(name))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        for name in self.names:
            drop_pg_database_later(self.admin_url, name)


@pytest.fixture
async def pg_targets(postgres_url: str) -> AsyncIterator[PgTargets]:
    targets = PgTargets(postgres_url)
    yield targets
    await targets.drop_all()


@pytest.fixture
def maria_targets(mariadb: MariaDB) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    with mariadb.connect() as conn, conn.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def cli(stack: Stack) -> Cli:
    return Cli(stack.api_url, stack.token)


class TestRoundTrips:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_postgres_restores_into_a_new_database_identically(
        self, api, pg_server, pg_backup, pg_source, pg_targets, tmp_path, compression
    ):
        backup = pg_backup
        if compression != "gzip":
            backup = await back_up(api, pg_server, pg_source, tmp_path, compression)
        target = pg_targets.new()

        accepted = await api.restore(backup.id, pg_server["id"], target)
        record = await api.wait_restore(accepted["id"])

        assert record["status"] == "completed", record.get("error")
        assert record["mode"] == "restore"
        assert record["database"] == target
        assert record["bytes_restored"] == backup.manifest()["raw_size"]
        assert await postgres_fingerprint(pg_targets.url(target)) == await postgres_fingerprint(
            pg_targets.url(pg_source)
        )

    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_mariadb_restores_into_a_new_database_identically(
        self, api, mariadb, maria_source, maria_targets, tmp_path, compression
    ):
        server = await api.add_maria_server(mariadb)
        backup = await back_up(api, server, maria_source, tmp_path, compression)
        target = unique("dbm_restored_")
        maria_targets.append(target)

        record = await api.wait_restore((await api.restore(backup.id, server["id"], target))["id"])

        assert record["status"] == "completed", record.get("error")
        assert mariadb_fingerprint(mariadb, target) == mariadb_fingerprint(mariadb, maria_source)


class TestDamagedArtifacts:
    async def test_one_flipped_byte_fails_naming_the_chunk_and_leaves_no_target(
        self, api, pg_server, pg_backup, pg_targets
    ):
        middle = pg_backup.artifact.stat().st_size // 2
        seq = chunk_at(pg_backup.manifest(), middle)

        def flip(path: Path) -> None:
            data = bytearray(path.read_bytes())
            data[middle] ^= 0xFF
            path.write_bytes(bytes(data))

        target = pg_targets.new()
        with damaged(pg_backup.artifact, flip):
            record = await api.wait_restore(
                (await api.restore(pg_backup.id, pg_server["id"], target))["id"]
            )

        assert record["status"] == "failed"
        assert f"artifact corrupt at chunk {seq}" in record["error"]
        assert not await pg_targets.exists(target)

    async def test_a_truncated_artifact_fails_naming_the_chunk_and_leaves_no_target(
        self, api, pg_server, pg_backup, pg_targets
    ):
        chunk = pg_backup.manifest()["chunks"][-2]
        cut = chunk["offset"] + chunk["size"] // 2

        def truncate(path: Path) -> None:
            with path.open("r+b") as file:
                file.truncate(cut)

        target = pg_targets.new()
        with damaged(pg_backup.artifact, truncate):
            record = await api.wait_restore(
                (await api.restore(pg_backup.id, pg_server["id"], target))["id"]
            )

        assert record["status"] == "failed"
        assert f"artifact truncated at chunk {chunk['seq']}" in record["error"]
        assert not await pg_targets.exists(target)

    async def test_a_missing_manifest_fails_and_leaves_no_target(
        self, api, pg_server, pg_backup, pg_targets
    ):
        target = pg_targets.new()
        with damaged(pg_backup.manifest_path, Path.unlink):
            record = await api.wait_restore(
                (await api.restore(pg_backup.id, pg_server["id"], target))["id"]
            )

        assert record["status"] == "failed"
        assert "manifest missing" in record["error"]
        assert not await pg_targets.exists(target)

    async def test_a_corrupt_artifact_leaves_an_existing_target_untouched(
        self, api, pg_server, pg_backup, pg_targets
    ):
        """With overwrite, the whole artifact is checked before the target is touched."""
        target = pg_targets.new()
        await pg_targets.create(target, "CREATE TABLE kept AS SELECT 42 AS answer")
        last = pg_backup.manifest()["chunks"][-1]

        def flip_last_chunk(path: Path) -> None:
            data = bytearray(path.read_bytes())
            data[last["offset"] + last["size"] // 2] ^= 0x01
            path.write_bytes(bytes(data))

        with damaged(pg_backup.artifact, flip_last_chunk):
            record = await api.wait_restore(
                (await api.restore(pg_backup.id, pg_server["id"], target, overwrite=True))["id"]
            )

        assert record["status"] == "failed"
        assert f"artifact corrupt at chunk {last['seq']}" in record["error"]
        conn = await asyncpg.connect(pg_targets.url(target))
        try:
            assert await conn.fetchval("SELECT answer FROM kept") == 42
        finally:
            await conn.close()


class TestExistingTarget:
    async def test_without_overwrite_is_refused_and_with_it_the_old_content_is_replaced(
        self, api, pg_server, pg_backup, pg_source, pg_targets
    ):
        target = pg_targets.new()
        await pg_targets.create(target, "CREATE TABLE old_stuff AS SELECT 1 AS x")

        detail = await api.refused_restore(pg_backup.id, pg_server["id"], target, status=409)
        assert target in detail

        accepted = await api.restore(pg_backup.id, pg_server["id"], target, overwrite=True)
        record = await api.wait_restore(accepted["id"])

        assert record["status"] == "completed", record.get("error")
        restored = await postgres_fingerprint(pg_targets.url(target))
        assert "table:old_stuff" not in restored
        assert restored == await postgres_fingerprint(pg_targets.url(pg_source))
        detail_restores = (await api.snapshot(pg_backup.id))["restores"]
        assert accepted["id"] in {r["id"] for r in detail_restores}
        listed = await api.restores(snapshot_id=pg_backup.id)
        assert accepted["id"] in {r["id"] for r in listed}


class TestVerify:
    async def test_a_good_snapshot_verifies_and_the_scratch_database_is_dropped(
        self, api, pg_server, pg_backup, pg_targets
    ):
        accepted = await api.verify(pg_backup.id, pg_server["id"])
        record = await api.wait_restore(accepted["id"])
        pg_targets.names.append(record["database"])  # dropped by the test if the dumper did not

        assert record["status"] == "completed", record.get("error")
        assert record["mode"] == "verify"
        assert record["verify_ok"] is True
        assert not await pg_targets.exists(record["database"])
        snapshot = await api.snapshot(pg_backup.id)
        assert snapshot["verified_at"]
        assert snapshot["verify_result"] == {"ok": True}
        assert accepted["id"] in {r["id"] for r in snapshot["restores"]}

    async def test_a_row_count_altered_on_the_volume_is_refused_as_not_the_catalogs(
        self, api, pg_server, pg_backup, pg_targets
    ):
        """The row counts a verify compares with are the catalog's: a manifest whose counts
        were edited on the volume is refused before anything is restored (a verify that
        names a differing table: tests/integration/dumper/test_restore.py)."""
        rows = pg_backup.manifest()["table_rows"]
        [table] = [name for name in rows if name.endswith("customers")]

        def alter(path: Path) -> None:
            manifest = json.loads(path.read_text())
            manifest["table_rows"][table] += 1
            path.write_text(json.dumps(manifest))

        with damaged(pg_backup.manifest_path, alter):
            accepted = await api.verify(pg_backup.id, pg_server["id"])
            record = await api.wait_restore(accepted["id"])
        pg_targets.names.append(record["database"])

        assert record["status"] == "failed", record
        assert record["error"].startswith("artifact does not match the catalog (sha256 of the")
        assert record["started_at"] is None
        assert not await pg_targets.exists(record["database"])
        result = (await api.snapshot(pg_backup.id))["verify_result"]
        assert result["ok"] is False
        assert result["error"] == record["error"]


class TestCli:
    async def test_restore_and_verify_as_a_script_would(
        self, cli, pg_server, pg_backup, pg_source, pg_targets
    ):
        target = pg_targets.new()
        restore = ["restore", pg_backup.id, "--to", pg_server["name"], "--database", target]

        restored = await cli.run(*restore, "--json")
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["status"] == "completed"
        assert await postgres_fingerprint(pg_targets.url(target)) == await postgres_fingerprint(
            pg_targets.url(pg_source)
        )

        refused = await cli.run(*restore)
        assert refused.returncode == 1
        assert_one_sentence(refused, target)

        verified = await cli.run("verify", pg_backup.id, "--on", pg_server["id"], "--json")
        assert verified.returncode == 0, verified.stderr
        pg_targets.names.append(json.loads(verified.stdout)["database"])

    async def test_a_failed_verify_exits_3_with_the_reason(self, cli, pg_server, pg_backup):
        with damaged(pg_backup.manifest_path, Path.unlink):
            result: subprocess.CompletedProcess[str] = await cli.run(
                "verify", pg_backup.id, "--on", pg_server["name"]
            )
        assert result.returncode == EXIT_FAILED, result.stdout + result.stderr
        [reason] = [line for line in result.stderr.splitlines() if "verify failed" in line]
        assert "manifest missing" in reason
