"""Several volumes per backup, on the real stack: the dump runs once, each volume
gets the artifact, each copy has its own fate, and one failed copy never loses the others."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from shared.naming import manifest_key
from tests.e2e.artifacts import (
    assert_no_leftovers,
    assert_postgres_restores,
    assert_valid_archive,
)
from tests.e2e.cli import Cli
from tests.e2e.test_s3 import fetch_s3, s3_config
from tests.fixtures.resources import unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def backup_to(api, server_id: str, database: str, volume_ids: list[str]) -> str:
    """POST a backup to several volumes (the first is the primary); the snapshot's id."""
    response = await api.http.post(
        "/api/v1/backups",
        json={"server_id": server_id, "database": database, "volume_ids": volume_ids},
    )
    assert response.status_code == 202, response.text
    [snapshot] = response.json()["snapshots"]
    return str(snapshot["id"])


def copies_of(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {copy["volume_id"]: copy for copy in snapshot["copies"]}


async def wait_for(api, snapshot_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        snapshot = await api.snapshot(snapshot_id)
        if snapshot["status"] == status:
            return snapshot
        assert time.monotonic() < deadline, f"still {snapshot['status']}: {snapshot}"
        await asyncio.sleep(0.3)


class TestOneCopyFails:
    async def test_a_missing_bucket_fails_only_the_s3_copy_and_the_local_one_restores(
        self, api, stack, s3_server, pg_source, postgres_url, volume_dir
    ):
        server = await api.add_postgres_server()
        local = await api.add_local_volume(volume_dir)
        missing = unique("no-such-bucket-")
        offsite = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, missing))

        snapshot_id = await backup_to(api, server["id"], pg_source, [local["id"], offsite["id"]])
        snapshot = await api.wait_terminal(snapshot_id)

        assert snapshot["status"] == "completed", snapshot
        assert snapshot["error"] is None
        copies = copies_of(snapshot)
        assert [c["volume_id"] for c in snapshot["copies"]] == [local["id"], offsite["id"]]
        assert copies[local["id"]]["status"] == "stored"
        assert copies[local["id"]]["path"] == snapshot["path"]
        assert copies[local["id"]]["size"] == snapshot["size"]
        assert copies[offsite["id"]]["status"] == "failed"
        assert copies[offsite["id"]]["error"] == (
            f"bucket {missing} does not exist on {s3_server.endpoint}"
        )
        assert snapshot["volume_id"] == local["id"]
        artifact = volume_dir / snapshot["path"]
        assert artifact.stat().st_size == snapshot["size"]
        assert_valid_archive(artifact, "gzip")
        await assert_postgres_restores(artifact, "gzip", postgres_url, pg_source)
        assert_no_leftovers(stack, volume_dir, snapshot_id)

    async def test_a_failed_primary_leaves_a_copy_that_verifies_through_the_api(
        self, api, s3_server, pg_source, volume_dir
    ):
        """The primary's bucket is missing: the snapshot shows the stored copy, and a verify
        reads it from there."""
        server = await api.add_postgres_server()
        offsite = await api.add_volume(
            unique("s3-"), "s3", s3_config(s3_server, unique("no-such-bucket-"))
        )
        local = await api.add_local_volume(volume_dir)

        snapshot_id = await backup_to(api, server["id"], pg_source, [offsite["id"], local["id"]])
        snapshot = await api.wait_terminal(snapshot_id)

        assert snapshot["status"] == "completed", snapshot
        assert [c["status"] for c in snapshot["copies"]] == ["failed", "stored"]
        assert snapshot["volume_id"] == local["id"]
        accepted = await api.verify(snapshot_id, server["id"])
        verified = await api.wait_restore(accepted["id"])
        assert verified["status"] == "completed", verified
        assert verified["verify_ok"] is True

    async def test_every_copy_failing_fails_with_each_reason(self, api, s3_server, pg_source):
        server = await api.add_postgres_server()
        buckets = [unique("no-such-bucket-"), unique("no-such-bucket-")]
        volumes = [
            await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, bucket))
            for bucket in buckets
        ]

        snapshot_id = await backup_to(api, server["id"], pg_source, [v["id"] for v in volumes])
        snapshot = await api.wait_terminal(snapshot_id)

        assert snapshot["status"] == "failed"
        for volume, bucket in zip(volumes, buckets, strict=True):
            assert f"volume {volume['id']}: bucket {bucket} does not exist" in snapshot["error"]
        assert {c["status"] for c in snapshot["copies"]} == {"failed"}


class TestTwoCopies:
    async def test_local_and_s3_hold_identical_artifacts_and_delete_removes_both(
        self, api, stack, s3_server, s3_bucket, pg_source, volume_dir, tmp_path
    ):
        server = await api.add_postgres_server()
        local = await api.add_local_volume(volume_dir)
        offsite = await api.add_volume(
            unique("s3-"), "s3", s3_config(s3_server, s3_bucket, prefix="copies/")
        )

        snapshot_id = await backup_to(api, server["id"], pg_source, [local["id"], offsite["id"]])
        snapshot = await api.wait_terminal(snapshot_id)

        assert snapshot["status"] == "completed", snapshot
        copies = copies_of(snapshot)
        assert {c["status"] for c in copies.values()} == {"stored"}
        on_disk = volume_dir / copies[local["id"]]["path"]
        on_s3 = fetch_s3(
            s3_server, s3_bucket, "copies/" + copies[offsite["id"]]["path"], tmp_path / "s3"
        )
        assert on_disk.read_bytes() == on_s3.read_bytes()
        assert_valid_archive(on_disk, "gzip")
        local_manifest = json.loads((volume_dir / copies[local["id"]]["manifest_path"]).read_text())
        s3_manifest = fetch_s3(
            s3_server,
            s3_bucket,
            "copies/" + copies[offsite["id"]]["manifest_path"],
            tmp_path / "manifest.json",
        )
        assert json.loads(s3_manifest.read_text())["sha256"] == local_manifest["sha256"]
        assert local_manifest["size"] == on_disk.stat().st_size
        assert_no_leftovers(stack, volume_dir, snapshot_id)

        response = await api.http.delete(f"/api/v1/snapshots/{snapshot_id}")
        assert response.status_code == 202, response.text
        deleted = await wait_for(api, snapshot_id, "deleted")

        assert {c["status"] for c in deleted["copies"]} == {"deleted"}
        assert not on_disk.exists()
        assert not (volume_dir / manifest_key(snapshot["path"])).exists()
        left = [o.object_name for o in s3_server.client().list_objects(s3_bucket, recursive=True)]
        assert left == []

    async def test_the_cli_takes_several_volumes(self, api, stack, pg_source, tmp_path: Path):
        first, second = tmp_path / "first", tmp_path / "second"
        first.mkdir()
        second.mkdir()
        server = await api.add_postgres_server()
        volumes = [await api.add_local_volume(path) for path in (first, second)]
        cli = Cli(stack.api_url, stack.token)

        result = await cli.run(
            "backup", server["name"], "--database", pg_source,
            "--volume", volumes[0]["name"], "--volume", volumes[1]["id"], "--json",
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        [done] = json.loads(result.stdout)
        snapshot = await api.snapshot(done["id"])
        assert [c["volume_id"] for c in snapshot["copies"]] == [v["id"] for v in volumes]
        assert (first / snapshot["path"]).read_bytes() == (second / snapshot["path"]).read_bytes()
        shown = await cli.run("snapshots", "show", done["id"])
        assert shown.returncode == 0, shown.stderr
        assert "copies" in shown.stdout
        assert all(v["id"] in shown.stdout for v in volumes)
        assert shown.stdout.count("stored") >= 2
