"""Deleting snapshots and probing volumes through the running uploader (local and S3)."""

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from shared.events import SnapshotDeleteRequested
from shared.naming import manifest_key
from shared.queries import Query, TestVolume, VolumeFreeSpace
from tests.integration.uploader.test_uploader import (
    local_spec,
    new_attempt,
    s3_spec,
    store_shuffled,
)

pytestmark = pytest.mark.integration


async def ask(uploader, query: Query[Any]) -> dict[str, Any]:
    """The uploader's reply as it travels."""
    response = await uploader.broker.request(
        query.model_dump(mode="json"), queue=uploader.topology.uploader_queries, timeout=20
    )
    body: dict[str, Any] = await response.decode()
    return body


async def probe_volume(uploader, spec) -> dict[str, dict[str, Any]]:
    reply = await ask(uploader, TestVolume(volume=uploader.sealer.seal(spec)))
    assert reply["ok"], reply
    place = "directory" if spec.type == "local" else "bucket"
    assert [c["check"] for c in reply["checks"]] == [place, "write", "read", "delete"]
    return {c["check"]: c for c in reply["checks"]}


def delete_request(uploader, stored: dict[str, Any], spec) -> SnapshotDeleteRequested:
    return SnapshotDeleteRequested(
        snapshot_id=stored["snapshot_id"], volume_id=stored["volume_id"],
        volume=uploader.sealer.seal(spec), path=stored["path"],
        manifest_path=stored["manifest_path"],
    )  # fmt: skip


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write, even root: a read-only tmpfs (or chmod for a user)."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        yield path
        path.chmod(0o700)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
        capture_output=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["umount", str(path)], check=True)


class TestDelete:
    async def test_deleting_a_local_snapshot_removes_artifact_and_manifest(
        self, uploader, tmp_path
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        spec = local_spec(volume)
        attempt = await new_attempt(uploader, spec, (4000, 3000))
        stored = await store_shuffled(uploader, attempt)
        artifact, manifest = volume / stored["path"], volume / stored["manifest_path"]
        assert stored["manifest"] == json.loads(manifest.read_text())
        assert stored["manifest"]["chunks"][1]["seq"] == 1

        await uploader.publish(delete_request(uploader, stored, spec))
        deleted = await uploader.next_event("snapshot.deleted", snapshot_id=attempt.snapshot_id)
        assert deleted["volume_id"] == stored["volume_id"]
        assert not artifact.exists()
        assert not manifest.exists()

        # Asked again (a redelivery, or a retry): the files are already gone, which is fine.
        await uploader.publish(delete_request(uploader, stored, spec))
        await uploader.next_event("snapshot.deleted", snapshot_id=attempt.snapshot_id)

    async def test_deleting_an_s3_snapshot_removes_both_objects(
        self, uploader, s3_server, s3_bucket
    ):
        spec = s3_spec(s3_server, s3_bucket, prefix="team")
        attempt = await new_attempt(uploader, spec, (4000,))
        stored = await store_shuffled(uploader, attempt)
        client = s3_server.client()
        names = {f"team/{stored['path']}", f"team/{manifest_key(stored['path'])}"}
        listed = {o.object_name for o in client.list_objects(s3_bucket, recursive=True)}
        assert names <= listed

        await uploader.publish(delete_request(uploader, stored, spec))
        await uploader.next_event("snapshot.deleted", snapshot_id=attempt.snapshot_id)
        listed = {o.object_name for o in client.list_objects(s3_bucket, recursive=True)}
        assert names.isdisjoint(listed)

    async def test_a_missing_bucket_makes_the_delete_fail_with_a_sentence(
        self, uploader, s3_server
    ):
        spec = s3_spec(s3_server, "dbm-no-such-bucket")
        sid = uuid4()
        await uploader.publish(
            SnapshotDeleteRequested(
                snapshot_id=sid,
                volume_id=uuid4(),
                volume=uploader.sealer.seal(spec),
                path="a/b.sql.gz",
                manifest_path="a/b.manifest.json",
            )
        )
        failed = await uploader.next_event("snapshot.delete_failed", snapshot_id=sid)
        assert (
            failed["reason"] == f"bucket dbm-no-such-bucket does not exist on {s3_server.endpoint}"
        )


class TestProbe:
    async def test_a_good_local_volume_passes_and_keeps_no_probe(self, uploader, tmp_path):
        volume = tmp_path / "volume"
        volume.mkdir()
        checks = await probe_volume(uploader, local_spec(volume))
        assert all(c["ok"] for c in checks.values()), checks
        assert ".databasement-probe-" in checks["write"]["detail"]
        assert list(volume.iterdir()) == []

    async def test_a_good_s3_volume_passes_and_keeps_no_probe(self, uploader, s3_server, s3_bucket):
        checks = await probe_volume(uploader, s3_spec(s3_server, s3_bucket))
        assert all(c["ok"] for c in checks.values()), checks
        assert list(s3_server.client().list_objects(s3_bucket, recursive=True)) == []

    async def test_a_missing_bucket_is_named_and_not_created(self, uploader, s3_server):
        checks = await probe_volume(uploader, s3_spec(s3_server, "dbm-no-such-bucket"))
        assert checks["bucket"] == {
            "check": "bucket", "ok": False,
            "detail": f"bucket dbm-no-such-bucket does not exist on {s3_server.endpoint}; "
            "create it first (Databasement never creates buckets)",
        }  # fmt: skip
        assert checks["write"]["detail"] == "not checked: bucket failed"
        assert checks["delete"]["detail"] == "not checked: bucket failed"
        assert not s3_server.client().bucket_exists("dbm-no-such-bucket")

    async def test_a_read_only_directory_is_permission_denied(self, uploader, read_only_dir):
        checks = await probe_volume(uploader, local_spec(read_only_dir))
        assert not checks["write"]["ok"]
        assert checks["write"]["detail"].startswith("permission denied writing")

    async def test_a_missing_directory_is_made_and_passes(self, uploader, tmp_path):
        checks = await probe_volume(uploader, local_spec(tmp_path / "new-dir"))
        assert all(c["ok"] for c in checks.values()), checks
        assert checks["directory"]["detail"].startswith(f"created {tmp_path / 'new-dir'} (mode 750")
        assert (tmp_path / "new-dir").is_dir()
        assert list((tmp_path / "new-dir").iterdir()) == []

    async def test_a_missing_parent_is_named(self, uploader, tmp_path):
        checks = await probe_volume(uploader, local_spec(tmp_path / "unmounted" / "backups"))
        assert not checks["directory"]["ok"]
        assert checks["directory"]["detail"].startswith(
            f"volume directory {tmp_path / 'unmounted' / 'backups'} does not exist, nor its parent"
        )
        assert checks["write"]["detail"] == "not checked: directory failed"

    async def test_free_space_is_known_for_local_and_unknown_for_s3(
        self, uploader, tmp_path, s3_server, s3_bucket
    ):
        local = await ask(
            uploader,
            VolumeFreeSpace(volume=uploader.sealer.seal(local_spec(tmp_path))),
        )
        assert local["ok"]
        assert 0 < local["free_bytes"] <= local["total_bytes"]
        s3 = await ask(
            uploader,
            VolumeFreeSpace(volume=uploader.sealer.seal(s3_spec(s3_server, s3_bucket))),
        )
        assert s3 == {"ok": True, "free_bytes": None, "total_bytes": None}

    async def test_a_volume_sealed_with_another_key_is_refused_in_words(self, uploader):
        reply = await ask(uploader, TestVolume(volume="gAAAAAnotatoken"))
        assert reply["ok"] is False
        assert reply["error"]
