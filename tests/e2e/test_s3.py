"""Backups to an S3 volume (SeaweedFS, through the same code path as AWS S3 and MinIO)."""

import asyncio
from pathlib import Path

import pytest

from tests.e2e.artifacts import (
    assert_mariadb_restores,
    assert_postgres_restores,
    assert_valid_archive,
)
from tests.fixtures.resources import unique
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def s3_config(server: S3Server, bucket: str, prefix: str = "") -> dict[str, object]:
    return {
        "endpoint": server.endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "access_key": server.admin.access_key,
        "secret_key": server.admin.secret_key,
        "secure": False,
    }


def fetch_s3(server: S3Server, bucket: str, key: str, target: Path) -> Path:
    server.client().fget_object(bucket, key, str(target))
    return target


def assert_nothing_left_in_bucket(
    server: S3Server, bucket: str, snapshot: dict, prefix: str
) -> None:
    client = server.client()
    uploads = client._list_multipart_uploads(bucket).uploads
    assert not uploads, f"multipart uploads left open: {[u.object_name for u in uploads]}"
    keys = sorted(o.object_name for o in client.list_objects(bucket, recursive=True))
    artifact = prefix + snapshot["path"]
    assert artifact in keys
    assert all(k == artifact or k.endswith(".manifest.json") for k in keys), keys


class TestS3Backups:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_postgres_backup_to_s3_restores_identically(
        self, api, s3_server, s3_bucket, pg_source, postgres_url, tmp_path, compression
    ):
        server = await api.add_postgres_server()
        volume = await api.add_volume(
            unique("s3-"), "s3", s3_config(s3_server, s3_bucket, prefix="team/backups/")
        )
        assert "secret_key" not in str(volume)
        [pending] = await api.backup(server["id"], pg_source, volume["id"], compression)

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")
        artifact = fetch_s3(
            s3_server, s3_bucket, "team/backups/" + snapshot["path"], tmp_path / "artifact"
        )
        assert artifact.stat().st_size == snapshot["size"]
        assert_valid_archive(artifact, compression)
        await assert_postgres_restores(artifact, compression, postgres_url, pg_source)
        assert_nothing_left_in_bucket(s3_server, s3_bucket, snapshot, "team/backups/")

    async def test_mariadb_backup_to_s3_restores_identically(
        self, api, s3_server, s3_bucket, mariadb, maria_source, tmp_path
    ):
        server = await api.add_maria_server(mariadb)
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [pending] = await api.backup(server["id"], maria_source, volume["id"], "zstd")

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")
        artifact = fetch_s3(s3_server, s3_bucket, snapshot["path"], tmp_path / "artifact")
        assert_valid_archive(artifact, "zstd")
        assert_mariadb_restores(artifact, "zstd", mariadb, maria_source)
        assert_nothing_left_in_bucket(s3_server, s3_bucket, snapshot, "")

    async def test_missing_bucket_fails_naming_the_bucket(self, api, stack, s3_server, pg_source):
        server = await api.add_postgres_server()
        missing = unique("no-such-bucket-")
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, missing))
        [pending] = await api.backup(server["id"], pg_source, volume["id"])

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "failed"
        assert missing in snapshot["error"]
        assert "does not exist" in snapshot["error"] or "missing" in snapshot["error"]
        # Chunks the dumper staged after the failure go when the uploader takes their
        # ChunkStaged (the upload is closed): left behind for good is the defect.
        staging = Path(stack.env["STAGING_PATH"]) / snapshot["id"]
        async with asyncio.timeout(30):
            while staging.exists() and any(staging.rglob("*.chunk")):
                await asyncio.sleep(0.2)
