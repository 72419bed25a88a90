"""The uploader service end to end: real broker, PostgreSQL, staging directory and volumes."""

import json
import random
import subprocess
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import SecretStr

from shared.events import DumpFailed
from shared.naming import manifest_key
from shared.specs import LocalVolumeConfig, LocalVolumeSpec, S3VolumeConfig, S3VolumeSpec
from tests.integration.uploader.conftest import MIB, gzip_member, stored_seqs, wait_until

pytestmark = pytest.mark.integration


def local_spec(path: Path) -> LocalVolumeSpec:
    return LocalVolumeSpec(config=LocalVolumeConfig(path=str(path)))


def s3_spec(server, bucket: str, prefix: str = "") -> S3VolumeSpec:
    return S3VolumeSpec(
        config=S3VolumeConfig(
            endpoint=server.endpoint,
            bucket=bucket,
            prefix=prefix,
            access_key=server.admin.access_key,
            secret_key=SecretStr(server.admin.secret_key),
            secure=False,
        )
    )


async def new_attempt(uploader, spec, sizes):
    snapshot_id = uuid4()
    attempt = uploader.attempt(uploader.destination(spec, snapshot_id), snapshot_id)
    for size in sizes:
        await uploader.stage(attempt, *gzip_member(size))
    return attempt


def assert_manifest(manifest: dict, attempt) -> None:
    finished = attempt.finished()
    assert manifest["format"] == 1
    assert manifest["snapshot_id"] == str(attempt.snapshot_id)
    assert manifest["attempt_id"] == str(attempt.attempt_id)
    assert manifest["artifact"] == attempt.destination.artifact_key
    assert manifest["compression"] == "gzip"
    assert manifest["size"] == len(attempt.artifact)
    assert manifest["sha256"] == finished.sha256
    assert manifest["raw_size"] == finished.raw_size
    assert manifest["tool"] == "pg_dump"
    assert manifest["table_rows"] == {"public.t": 3}
    offsets = [0, len(attempt.blobs[0]), len(attempt.blobs[0]) + len(attempt.blobs[1])]
    assert [(c["seq"], c["offset"], c["size"]) for c in manifest["chunks"]] == [
        (i, offsets[i], len(b)) for i, b in enumerate(attempt.blobs)
    ]
    assert [c["sha256"] for c in manifest["chunks"]] == [c.sha256 for c in attempt.chunks]


def assert_gzip_valid(path: Path) -> None:
    subprocess.run(["gzip", "-t", str(path)], check=True)


async def store_shuffled(uploader, attempt) -> dict:
    chunks = list(attempt.chunks)
    random.shuffle(chunks)
    await uploader.publish(chunks[0], attempt.finished(), *chunks[1:])
    return await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)


class TestLocalVolume:
    async def test_shuffled_chunks_become_one_valid_artifact_with_manifest(
        self, uploader, tmp_path
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        attempt = await new_attempt(uploader, local_spec(volume), (5 * MIB, 5 * MIB, 300_000))

        stored = await store_shuffled(uploader, attempt)

        artifact = volume / attempt.destination.artifact_key
        assert stored["path"] == attempt.destination.artifact_key
        assert stored["size"] == len(attempt.artifact)
        assert stored["sha256"] == attempt.finished().sha256
        assert artifact.read_bytes() == attempt.artifact
        assert_gzip_valid(artifact)
        manifest = json.loads((volume / manifest_key(stored["path"])).read_text())
        assert stored["manifest_path"] == manifest_key(stored["path"])
        assert_manifest(manifest, attempt)
        await wait_until(
            lambda: _zero(uploader.staged_count(attempt))
        )  # deleted just after the event
        assert not (volume / ".parts").exists()
        assert sorted(p.name for p in artifact.parent.iterdir()) == sorted(
            [artifact.name, Path(stored["manifest_path"]).name]
        )

    async def test_a_redelivered_chunk_is_harmless(self, uploader, tmp_path):
        volume = tmp_path / "volume"
        volume.mkdir()
        attempt = await new_attempt(uploader, local_spec(volume), (4000, 3000))
        first, second = attempt.chunks

        await uploader.publish(first)
        await uploader.next_event("chunk.stored", attempt_id=attempt.attempt_id, seq=0)
        await uploader.publish(first, second, attempt.finished())
        await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)
        await uploader.publish(second)  # a late copy after the artifact is final

        later = await uploader.drain(0.5, until=lambda seen: 1 in stored_seqs(seen))
        assert [k for k, b in later if k != "chunk.stored"] == []
        assert stored_seqs(later) == [1]
        assert (volume / attempt.destination.artifact_key).read_bytes() == attempt.artifact
        await wait_until(
            lambda: _zero(uploader.staged_count(attempt))
        )  # deleted just after the event

    async def test_dump_failed_removes_parts_and_later_chunks(self, uploader, tmp_path):
        volume = tmp_path / "volume"
        volume.mkdir()
        attempt = await new_attempt(uploader, local_spec(volume), (4000, 3000, 2000))
        await uploader.publish(attempt.chunks[0], attempt.chunks[1])
        for seq in (0, 1):
            await uploader.next_event("chunk.stored", attempt_id=attempt.attempt_id, seq=seq)
        parts = volume / ".parts" / str(attempt.snapshot_id)
        assert parts.is_dir()

        await uploader.publish(
            DumpFailed(
                snapshot_id=attempt.snapshot_id,
                attempt_id=attempt.attempt_id,
                reason="pg_dump exited with code 1",
                exit_code=1,
                destination=attempt.destination,
            )
        )
        await wait_until(lambda: _gone(parts))
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))

        await uploader.stage(attempt, *gzip_member(1000))  # a straggler of the dead attempt
        await uploader.publish(attempt.chunks[-1])
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))
        assert not parts.exists()
        assert not (volume / attempt.destination.artifact_key).exists()

    async def test_a_newer_attempts_artifact_discards_the_stale_attempt(self, uploader, tmp_path):
        volume = tmp_path / "volume"
        volume.mkdir()
        stale = await new_attempt(uploader, local_spec(volume), (4000, 3000))
        retry = uploader.attempt(stale.destination, stale.snapshot_id)
        for size in (5000, 1000):
            await uploader.stage(retry, *gzip_member(size))
        await uploader.publish(stale.chunks[0])
        await uploader.next_event("chunk.stored", attempt_id=stale.attempt_id)

        await uploader.publish(*retry.chunks, retry.finished())
        await uploader.next_event("backup.stored", attempt_id=retry.attempt_id)
        await uploader.publish(stale.chunks[1], stale.finished())

        await wait_until(lambda: _zero(uploader.staged_count(stale)))
        await wait_until(lambda: _gone(volume / ".parts"))
        assert (volume / retry.destination.artifact_key).read_bytes() == retry.artifact
        later = await uploader.drain(0.5)
        assert [k for k, _ in later if k != "chunk.stored"] == []


class TestReplicas:
    @pytest.mark.usefixtures("replica")
    async def test_two_replicas_store_every_chunk_and_finalise_exactly_once(
        self, uploader, tmp_path
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        attempt = await new_attempt(uploader, local_spec(volume), [2000 + i for i in range(16)])
        chunks = list(attempt.chunks)
        random.shuffle(chunks)

        await uploader.publish(*chunks[:8], attempt.finished(), *chunks[8:])

        await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)
        later = await uploader.drain(0.5, until=lambda seen: len(stored_seqs(seen)) >= 16)
        assert [k for k, _ in later if k != "chunk.stored"] == []
        assert sorted(stored_seqs(later)) == list(range(16))
        assert (volume / attempt.destination.artifact_key).read_bytes() == attempt.artifact
        assert not (volume / ".parts").exists()


class TestFullVolume:
    async def test_a_full_disk_fails_with_volume_is_full_and_leaves_no_parts(
        self, uploader, tmp_path
    ):
        volume = tmp_path / "tiny"
        volume.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(volume)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a 1 MiB tmpfs here: {mounted.stderr.decode().strip()}")
        try:
            attempt = await new_attempt(uploader, local_spec(volume), (400_000,) * 3)
            await uploader.publish(*attempt.chunks, attempt.finished())

            failed = await uploader.next_event("upload.failed", attempt_id=attempt.attempt_id)

            assert failed["reason"] == f"volume is full: no space left on {volume}"
            await wait_until(lambda: _zero(uploader.staged_count(attempt)))
            assert list(volume.rglob("*.part*")) == []
            assert not (volume / attempt.destination.artifact_key).exists()
        finally:
            subprocess.run(["umount", str(volume)], check=True)


class TestS3Volume:
    async def test_shuffled_chunks_complete_one_multipart_object_with_manifest(
        self, uploader, s3_server, s3_bucket, tmp_path
    ):
        attempt = await new_attempt(
            uploader, s3_spec(s3_server, s3_bucket, "backups"), (5 * MIB, 5 * MIB, 300_000)
        )

        stored = await store_shuffled(uploader, attempt)

        client = s3_server.client()
        body = client.get_object(s3_bucket, f"backups/{stored['path']}")
        artifact = tmp_path / "artifact.sql.gz"
        artifact.write_bytes(body.read())
        body.close()
        assert artifact.read_bytes() == attempt.artifact
        assert_gzip_valid(artifact)
        manifest = client.get_object(s3_bucket, f"backups/{stored['manifest_path']}")
        assert_manifest(json.loads(manifest.read()), attempt)
        manifest.close()
        assert client._list_multipart_uploads(s3_bucket).uploads == []
        await wait_until(
            lambda: _zero(uploader.staged_count(attempt))
        )  # deleted just after the event

    async def test_a_missing_bucket_fails_with_its_name(self, uploader, s3_server):
        attempt = await new_attempt(uploader, s3_spec(s3_server, "missing-bucket-dbm"), (1000,))
        await uploader.publish(*attempt.chunks, attempt.finished())

        failed = await uploader.next_event("upload.failed", attempt_id=attempt.attempt_id)

        assert (
            failed["reason"] == f"bucket missing-bucket-dbm does not exist on {s3_server.endpoint}"
        )
        assert failed["volume_id"] == str(attempt.destination.volume_id)
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))
        later = await uploader.drain(0.5)
        assert [k for k, _ in later if k == "upload.failed"] == []  # reported once

    async def test_dump_failed_aborts_the_multipart_upload(self, uploader, s3_server, s3_bucket):
        attempt = await new_attempt(uploader, s3_spec(s3_server, s3_bucket), (5 * MIB, 1000))
        await uploader.publish(attempt.chunks[0])
        await uploader.next_event("chunk.stored", attempt_id=attempt.attempt_id)
        client = s3_server.client()
        assert len(client._list_multipart_uploads(s3_bucket).uploads) == 1

        await uploader.publish(
            DumpFailed(
                snapshot_id=attempt.snapshot_id,
                attempt_id=attempt.attempt_id,
                reason="killed",
                destination=attempt.destination,
            )
        )

        async def aborted():
            return client._list_multipart_uploads(s3_bucket).uploads == []

        await wait_until(aborted)
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))


async def _gone(path: Path) -> bool:
    return not path.exists()


async def _zero(count) -> bool:
    return await count == 0
