"""Encryption at rest end to end on a stack of its own, whose dumper is restarted
with other master keys: an encrypted backup restores through the API and offline through
`databasement decrypt | gunzip | psql`, holds no plaintext, survives a master-key rotation,
and a wrong key fails with "cannot decrypt: wrong key" without touching the target."""

import asyncio
import base64
import gzip
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.encryption import generate_master_key, parse_keyring
from shared.naming import manifest_key
from tests.e2e.cli import CLI, Cli
from tests.e2e.client import Api
from tests.e2e.pg_targets import Targets, restore_targets
from tests.e2e.test_s3 import s3_config
from tests.fixtures.resources import (
    scratch_pg_database,
    unique,
)
from tests.support.isolated_stack import isolated_stack
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CANARY = "canary-7f3a91c2-plaintext-must-not-leak"
SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "3",
    "DUMPER_MIN_PART_SIZE": str(5 * 1024 * 1024),
    "DUMPER_BLOCK_SIZE": str(1024 * 1024),
    "CATALOG_PROGRESS_TIMEOUT": "120",
}
SOURCE_SQL = f"""
CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO notes SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text)
    FROM generate_series(1, 120000) AS i;
INSERT INTO notes VALUES (0, '{CANARY}');
"""
FINGERPRINT = "SELECT count(*), md5(string_agg(id::text || body, ',' ORDER BY id)) FROM notes"


@dataclass
class Keys:
    """The stack's dumper and the master keys it runs with."""

    stack: Stack
    current: str
    good: str
    """A keyring that opens every encrypted snapshot of this module (rotation changes it)."""

    def run_dumper_with(self, keys: str) -> None:
        """Restart the dumper with DUMPER_MASTER_KEYS=`keys` (no-op when it already has them)."""
        if keys == self.current:
            return
        self.stack.kill("dumper", signal.SIGTERM)
        self.stack.start("dumper", extra={"DUMPER_MASTER_KEYS": keys})
        self.current = keys


@pytest.fixture(scope="module")
async def own_stack(
    rabbit_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("enc-stack")
    async with isolated_stack(
        rabbit_url, postgres_url, root, name="e2eenc", settings=SETTINGS
    ) as running:
        yield running


@pytest.fixture(scope="module")
def keys(own_stack: Stack) -> Keys:
    initial = own_stack.env["DUMPER_MASTER_KEYS"]
    return Keys(own_stack, current=initial, good=initial)


@pytest.fixture(scope="module")
async def api(own_stack: Stack) -> AsyncIterator[Api]:
    client = Api(own_stack.api_url, own_stack.token)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_encsrc_", sql=SOURCE_SQL) as name:
        yield name


@pytest.fixture(scope="module")
async def server(api: Api) -> dict[str, Any]:
    return await api.add_postgres_server()


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("enc-volume")


@pytest.fixture(scope="module")
async def volume_id(api: Api, volume: Path) -> str:
    registered = await api.add_local_volume(volume)
    return str(registered["id"])


async def back_up(
    api: Api,
    server: dict[str, Any],
    database: str,
    volume_id: str,
    *,
    encrypt: bool,
    compression: str = "gzip",
    status: str = "completed",
) -> dict[str, Any]:
    response = await api.http.post(
        "/api/v1/backups",
        json={
            "server_id": server["id"],
            "database": database,
            "volume_id": volume_id,
            "compression": compression,
            "encrypt": encrypt,
        },
    )
    assert response.status_code == 202, response.text
    [pending] = response.json()["snapshots"]
    snapshot = await api.wait_terminal(pending["id"])
    assert snapshot["status"] == status, snapshot.get("error")
    return snapshot


@pytest.fixture(scope="module")
async def encrypted(
    api: Api, keys: Keys, server: dict[str, Any], source: str, volume_id: str
) -> dict[str, Any]:
    keys.run_dumper_with(keys.good)
    return await back_up(api, server, source, volume_id, encrypt=True)


@pytest.fixture
async def targets(postgres_url: str) -> AsyncIterator[Targets]:
    async with restore_targets(postgres_url, "dbm_encdst_", FINGERPRINT) as made:
        yield made


async def restore(api: Api, snapshot: dict[str, Any], server: dict[str, Any], target: str):
    accepted = await api.restore(snapshot["id"], server["id"], target)
    return await api.wait_restore(accepted["id"])


def manifest_of(volume: Path, snapshot: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((volume / manifest_key(snapshot["path"])).read_text())
    return loaded


class TestEncryptedBackup:
    async def test_restores_through_the_api_and_the_data_matches(
        self, api, keys, server, source, encrypted, targets, volume
    ):
        keys.run_dumper_with(keys.good)
        target = targets.new()

        record = await restore(api, encrypted, server, target)

        assert record["status"] == "completed", record.get("error")
        assert await targets.fingerprint(target) == await targets.fingerprint(source)
        assert encrypted["path"].endswith(".sql.gz.enc")
        assert manifest_of(volume, encrypted)["encryption"]["algorithm"] == "AES-256-GCM"

    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_restores_offline_through_decrypt_gunzip_psql(
        self,
        own_stack,
        keys,
        server,
        source,
        encrypted,
        targets,
        volume,
        volume_id,
        tmp_path,
        compression,
    ):
        snapshot = encrypted
        if compression == "zstd":  # through the CLI's --encrypt this time
            keys.run_dumper_with(keys.good)
            done = await Cli(own_stack.api_url, own_stack.token).run(
                "backup", server["id"], "--volume", volume_id, "--database", source,
                "--compression", "zstd", "--encrypt", "--json",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            [snapshot] = json.loads(done.stdout)
            assert snapshot["path"].endswith(".sql.zst.enc")
        key_file = tmp_path / "master.keys"
        key_file.write_text(keys.good)
        target = targets.new()
        admin = await asyncpg.connect(targets.admin_url)
        await admin.execute(f'CREATE DATABASE "{target}"')
        await admin.close()
        artifact = volume / snapshot["path"]
        inflate = {"gzip": "gunzip -c", "zstd": "zstd -dcq"}[compression]

        pipeline = (
            f"set -o pipefail; {CLI} decrypt {artifact} --key-file {key_file} -o - "
            f"| {inflate} | psql -q -v ON_ERROR_STOP=1 -d {targets.url(target)}"
        )
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", pipeline],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

        assert done.returncode == 0, done.stderr[-2000:]
        assert await targets.fingerprint(target) == await targets.fingerprint(source)

    async def test_the_artifact_holds_no_plaintext_while_a_plain_one_does(
        self, api, keys, server, source, encrypted, volume, volume_id
    ):
        keys.run_dumper_with(keys.good)
        plain = await back_up(api, server, source, volume_id, encrypt=False)
        raw = (volume / encrypted["path"]).read_bytes()

        assert CANARY.encode() not in raw
        assert not raw.startswith(b"\x1f\x8b"), "an encrypted artifact is no gzip file"
        # zgrep, the way an intruder would look: the plain artifact gives the row away.
        assert CANARY.encode() in gzip.decompress((volume / plain["path"]).read_bytes())
        assert "encryption" not in manifest_of(volume, plain)

    async def test_verifies_through_the_api(self, api, keys, server, encrypted):
        keys.run_dumper_with(keys.good)

        accepted = await api.verify(encrypted["id"], server["id"])
        record = await api.wait_restore(accepted["id"])

        assert record["status"] == "completed", record.get("error")
        assert record["verify_ok"] is True

    async def test_the_master_keys_never_reach_a_log_line(self, own_stack, keys, encrypted):
        secrets = [k.secret for k in parse_keyring(keys.good).keys]
        logs = own_stack.logs()

        assert encrypted["status"] == "completed"
        for secret in secrets:
            assert base64.b64encode(secret).decode() not in logs


class TestNoKey:
    async def test_an_encrypted_backup_fails_naming_the_setting(
        self, api, keys, server, source, volume_id
    ):
        keys.run_dumper_with("")
        try:
            failed = await back_up(api, server, source, volume_id, encrypt=True, status="failed")
        finally:
            keys.run_dumper_with(keys.good)

        assert "DUMPER_MASTER_KEYS" in failed["error"], failed["error"]


class TestWrongKey:
    async def test_restore_fails_with_wrong_key_and_psql_gets_nothing(
        self, api, keys, server, encrypted, targets
    ):
        keys.run_dumper_with(generate_master_key("intruder"))
        target = targets.new()
        try:
            record = await restore(api, encrypted, server, target)
        finally:
            keys.run_dumper_with(keys.good)

        assert record["status"] == "failed"
        assert record["error"].startswith("cannot decrypt: wrong key"), record["error"]
        assert not await targets.exists(target)

    async def test_an_overwrite_with_a_wrong_key_leaves_the_existing_database_as_it_was(
        self, api, keys, server, encrypted, targets
    ):
        target = targets.new()
        admin = await asyncpg.connect(targets.admin_url)
        await admin.execute(f'CREATE DATABASE "{target}"')
        await admin.close()
        conn = await asyncpg.connect(targets.url(target))
        await conn.execute("CREATE TABLE keep (v text); INSERT INTO keep VALUES ('untouched')")
        await conn.close()
        keys.run_dumper_with(generate_master_key("intruder"))
        try:
            accepted = await api.restore(encrypted["id"], server["id"], target, overwrite=True)
            record = await api.wait_restore(accepted["id"])
        finally:
            keys.run_dumper_with(keys.good)

        assert record["status"] == "failed"
        assert record["error"].startswith("cannot decrypt: wrong key"), record["error"]
        conn = await asyncpg.connect(targets.url(target))
        try:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            assert [t["tablename"] for t in tables] == ["keep"]
            assert await conn.fetchval("SELECT v FROM keep") == "untouched"
        finally:
            await conn.close()


class TestRotation:
    @pytest.mark.timeout(420)
    async def test_after_rewrap_a_dumper_with_only_the_new_key_restores_old_snapshots(
        self, api, keys, server, source, volume, volume_id, targets, own_stack
    ):
        keys.run_dumper_with(keys.good)
        old = await back_up(api, server, source, volume_id, encrypt=True)
        old_key_id = manifest_of(volume, old)["encryption"]["key_id"]
        new_entry = generate_master_key("rotated")
        new_id = parse_keyring(new_entry).active.key_id

        # 1. The new key first, the old ones still listed: old snapshots stay readable.
        keys.run_dumper_with(f"{new_entry},{keys.good}")
        assert (await restore(api, old, server, targets.new()))["status"] == "completed"
        # 2. Re-wrap every data key with the new key (the data is not touched).
        artifact_before = (volume / old["path"]).read_bytes()
        cli = Cli(own_stack.api_url, own_stack.token)
        done = await cli.run("keys", "rewrap")
        assert done.returncode == 0, done.stderr
        assert "re-wrap queued for" in done.stdout, done.stdout
        await wait_for_key(volume, old, new_id)
        assert (volume / old["path"]).read_bytes() == artifact_before
        # 3. Only the new key: the old snapshot still restores.
        keys.good = new_entry
        keys.run_dumper_with(new_entry)
        target = targets.new()
        record = await restore(api, old, server, target)

        assert old_key_id != new_id
        assert record["status"] == "completed", record.get("error")
        assert await targets.fingerprint(target) == await targets.fingerprint(source)
        detail = await api.snapshot(old["id"])
        assert detail["manifest"]["encryption"]["key_id"] == new_id
        usage = await cli.run("keys", "status", "--json")
        assert usage.returncode == 0, usage.stderr
        assert json.loads(usage.stdout)["keys"][new_id] >= 1


async def wait_for_key(volume: Path, snapshot: dict[str, Any], key_id: str) -> None:
    deadline = time.monotonic() + 60
    while manifest_of(volume, snapshot)["encryption"]["key_id"] != key_id:
        assert time.monotonic() < deadline, "the manifest was not re-wrapped within 60 s"
        await asyncio.sleep(0.3)


@pytest.fixture(autouse=True)
def _no_leftover_partial(volume: Path) -> Iterator[None]:
    yield
    assert not list(volume.rglob("*.partial"))


class TestOnS3:
    async def test_an_encrypted_backup_on_s3_restores_and_its_object_holds_no_plaintext(
        self, api, keys, server, source, targets, s3_server, s3_bucket, tmp_path
    ):
        keys.run_dumper_with(keys.good)
        config = s3_config(s3_server, s3_bucket, prefix="sealed/")
        volume = await api.add_volume(unique("s3-"), "s3", config)
        snapshot = await back_up(api, server, source, volume["id"], encrypt=True)
        target = targets.new()

        record = await restore(api, snapshot, server, target)

        assert record["status"] == "completed", record.get("error")
        assert await targets.fingerprint(target) == await targets.fingerprint(source)
        stored = tmp_path / "object.enc"
        s3_server.client().fget_object(s3_bucket, "sealed/" + snapshot["path"], str(stored))
        assert stored.read_bytes().startswith(b"DBME")
        assert CANARY.encode() not in stored.read_bytes()
