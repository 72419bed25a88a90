"""Someone with write access to a volume rewrites what a backup stored, recomputing every hash
so the volume agrees with itself: restores, verifies and downloads believe only the catalog,
refuse it with "artifact does not match the catalog (...)", and psql never gets a byte (the
target database is never created, the restore never starts)."""

import asyncio
import copy
import gzip
import hashlib
import io
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.naming import manifest_key
from tests.e2e.cli import CLI, Cli
from tests.e2e.client import Api
from tests.e2e.pg_targets import Targets, restore_targets
from tests.e2e.test_encryption import back_up
from tests.e2e.test_s3 import s3_config
from tests.fixtures.resources import scratch_pg_database, unique
from tests.support.seaweed import S3Server
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MISMATCH = "artifact does not match the catalog ("
FORGED_SQL = b"CREATE DATABASE forged_marker;\nCREATE TABLE forged (x int);\n"
# About 25 MB of text, 10 MB compressed: at least two 5 MiB chunks, so frames can be dropped.
SOURCE_SQL = """
CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO notes SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text)
    FROM generate_series(1, 250000) AS i;
"""


@pytest.fixture(scope="module")
async def source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_forgesrc_", sql=SOURCE_SQL) as name:
        yield name


@pytest.fixture
async def server(api: Api) -> dict[str, Any]:
    return await api.add_postgres_server()


@pytest.fixture
async def targets(postgres_url: str) -> AsyncIterator[Targets]:
    async with restore_targets(postgres_url, "dbm_forgedst_") as made:
        made.names.append("forged_marker")  # what the forged SQL would create
        yield made


def consistent(manifest: dict[str, Any], artifact: bytes, chunks: list[bytes]) -> dict[str, Any]:
    """`manifest` rewritten to describe `artifact` (cut into `chunks`) with every hash right."""
    forged = copy.deepcopy(manifest)
    listed, offset = [], 0
    for seq, data in enumerate(chunks):
        listed.append(
            {
                "seq": seq,
                "offset": offset,
                "size": len(data),
                "raw_size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
        offset += len(data)
    forged |= {"size": len(artifact), "sha256": hashlib.sha256(artifact).hexdigest()}
    forged["chunks"] = listed
    return forged


class Local:
    """A local volume the attacker writes to."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        (self.root / key).write_bytes(data)


class Bucket:
    """An S3 bucket the attacker writes to."""

    def __init__(self, server: S3Server, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = server.client(), bucket, prefix

    def read(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, self.prefix + key)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(self.bucket, self.prefix + key, io.BytesIO(data), len(data))


Store = Local | Bucket


@pytest.fixture(params=["local", "s3"])
async def store_and_volume(
    request: pytest.FixtureRequest, api: Api, volume_dir: Path, s3_server, s3_bucket
) -> tuple[Store, str]:
    if request.param == "local":
        volume = await api.add_local_volume(volume_dir)
        return Local(volume_dir), str(volume["id"])
    prefix = f"{unique('forged-')}/"
    volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket, prefix))
    return Bucket(s3_server, s3_bucket, prefix), str(volume["id"])


def forge_plain(store: Store, snapshot: dict[str, Any], *, drop_encryption: bool = False) -> None:
    """Replace the artifact by forged SQL (gzip) and its manifest by one that agrees."""
    manifest = json.loads(store.read(manifest_key(snapshot["path"])))
    artifact = gzip.compress(FORGED_SQL)
    forged = consistent(manifest, artifact, [artifact])
    if drop_encryption:
        del forged["encryption"]
    store.write(snapshot["path"], artifact)
    store.write(manifest_key(snapshot["path"]), json.dumps(forged).encode())


async def assert_refused_before_psql(
    api: Api, accepted: dict[str, Any], targets: Targets, target: str | None, *, reason: str
) -> dict[str, Any]:
    record = await api.wait_restore(accepted["id"])
    assert record["status"] == "failed", record
    assert record["error"].startswith(reason), record["error"]
    assert record["started_at"] is None, "the restore started: a client was run"
    assert record["chunks_verified"] == 0
    assert record["bytes_restored"] == 0
    if target is not None:
        assert not await targets.exists(target)
    assert not await targets.exists("forged_marker")
    return record


class TestRewrittenArtifactAndManifest:
    async def test_restore_verify_and_download_are_refused(
        self, api, stack: Stack, server, source, targets, store_and_volume, tmp_path
    ):
        store, volume_id = store_and_volume
        snapshot = await back_up(api, server, source, volume_id, encrypt=False)
        forge_plain(store, snapshot)

        target = targets.new()
        accepted = await api.restore(snapshot["id"], server["id"], target)
        await assert_refused_before_psql(api, accepted, targets, target, reason=MISMATCH + "sha256")

        verify = await api.verify(snapshot["id"], server["id"])
        await assert_refused_before_psql(api, verify, targets, verify["database"], reason=MISMATCH)

        response = await api.http.get(f"/api/v1/snapshots/{snapshot['id']}/download")
        assert response.status_code == 409, response.text
        assert response.json()["detail"].startswith(MISMATCH + "sha256")

        done = await Cli(stack.api_url, stack.token).run(
            "snapshots", "download", snapshot["id"], "-o", str(tmp_path)
        )
        assert done.returncode != 0
        assert MISMATCH in done.stderr
        assert not [p for p in tmp_path.iterdir() if p.is_file()]


class TestArtifactOnlyRewritten:
    """The manifest is left as recorded, so only the bytes tell."""

    async def test_a_presigned_download_is_checked_by_the_cli_and_exits_3(
        self, api, stack: Stack, server, source, s3_server, s3_bucket, tmp_path
    ):
        prefix = f"{unique('forged-')}/"
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket, prefix))
        snapshot = await back_up(api, server, source, str(volume["id"]), encrypt=False)
        bucket = Bucket(s3_server, s3_bucket, prefix)
        genuine = bucket.read(snapshot["path"])
        bucket.write(snapshot["path"], genuine[:-1] + bytes([genuine[-1] ^ 1]))

        done = await Cli(stack.api_url, stack.token).run(
            "snapshots", "download", snapshot["id"], "-o", str(tmp_path)
        )

        assert done.returncode == 3, done.stderr
        assert "the downloaded file does not match the catalog (sha256" in done.stderr
        assert not list(tmp_path.iterdir())

    async def test_a_streamed_download_is_cut_before_the_forged_chunk(
        self, api, server, source, volume_dir
    ):
        volume = await api.add_local_volume(volume_dir)
        snapshot = await back_up(api, server, source, str(volume["id"]), encrypt=False)
        manifest = json.loads((volume_dir / manifest_key(snapshot["path"])).read_text())
        last = manifest["chunks"][-1]
        artifact = volume_dir / snapshot["path"]
        data = bytearray(artifact.read_bytes())
        data[last["offset"] + 10] ^= 0x01
        artifact.write_bytes(bytes(data))

        received = bytearray()
        with pytest.raises(httpx.HTTPError):  # the server closes the connection mid-body
            await receive(api, f"/api/v1/snapshots/{snapshot['id']}/download", received)
        assert len(received) == last["offset"], "a byte of the forged chunk was sent"
        assert bytes(received) == bytes(data[: last["offset"]])


async def receive(api: Api, path: str, into: bytearray) -> None:
    async with api.http.stream("GET", path) as response:
        assert response.status_code == 200
        async for block in response.aiter_raw():
            into += block


class TestEncrypted:
    async def test_an_encryption_downgrade_is_refused(
        self, api, server, source, targets, store_and_volume
    ):
        store, volume_id = store_and_volume
        snapshot = await back_up(api, server, source, volume_id, encrypt=True)
        assert snapshot["path"].endswith(".enc")
        forge_plain(store, snapshot, drop_encryption=True)

        target = targets.new()
        accepted = await api.restore(snapshot["id"], server["id"], target)

        await assert_refused_before_psql(
            api,
            accepted,
            targets,
            target,
            reason=MISMATCH + "it was stored encrypted with master key",
        )
        response = await api.http.get(f"/api/v1/snapshots/{snapshot['id']}/download")
        assert response.status_code == 409
        assert response.json()["detail"].startswith(MISMATCH)

    async def test_dropped_trailing_frames_are_refused_online_and_offline(
        self, api, stack: Stack, server, source, targets, volume_dir, tmp_path
    ):
        volume = await api.add_local_volume(volume_dir)
        snapshot = await back_up(api, server, source, str(volume["id"]), encrypt=True)
        store = Local(volume_dir)
        manifest = json.loads(store.read(manifest_key(snapshot["path"])))
        assert len(manifest["chunks"]) >= 2, "the source must make several chunks"
        kept = manifest["chunks"][:-1]
        whole = store.read(snapshot["path"])
        artifact = whole[: manifest["chunks"][-1]["offset"]]
        frames = [whole[c["offset"] : c["offset"] + c["size"]] for c in kept]
        store.write(snapshot["path"], artifact)
        store.write(
            manifest_key(snapshot["path"]),
            json.dumps(consistent(manifest, artifact, frames)).encode(),
        )

        target = targets.new()
        accepted = await api.restore(snapshot["id"], server["id"], target)
        await assert_refused_before_psql(api, accepted, targets, target, reason=MISMATCH)

        # Offline, with no catalog to ask, the frames themselves say the artifact was cut.
        key_file = tmp_path / "master.keys"
        key_file.write_text(stack.env["DUMPER_MASTER_KEYS"])
        done = await run_decrypt(volume_dir / snapshot["path"], key_file, tmp_path / "out.sql.gz")
        assert done.returncode != 0
        assert "its final frame is missing" in done.stderr
        assert not (tmp_path / "out.sql.gz").exists()


async def run_decrypt(artifact: Path, key_file: Path, output: Path):
    return await asyncio.to_thread(
        subprocess.run,
        [str(CLI), "decrypt", str(artifact), "--key-file", str(key_file), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
