"""Several volumes per backup: one dump, every chunk to each volume, per-copy fate."""

import json
import random
from pathlib import Path
from uuid import uuid4

import pytest

from shared.events import DumpFailed
from shared.naming import manifest_key
from tests.integration.uploader.conftest import MIB, gzip_member, stored_seqs, wait_until
from tests.integration.uploader.test_uploader import (
    assert_gzip_valid,
    assert_manifest,
    local_spec,
    s3_spec,
)

pytestmark = pytest.mark.integration


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


async def attempt_with_copies(uploader, primary, copies, sizes):
    snapshot_id = uuid4()
    destination = uploader.destination(primary, snapshot_id)
    others = [uploader.copy_of(destination, spec) for spec in copies]
    attempt = uploader.attempt(destination, snapshot_id, others)
    for size in sizes:
        await uploader.stage(attempt, *gzip_member(size))
    return attempt


async def publish_shuffled(uploader, attempt) -> None:
    chunks = list(attempt.chunks)
    random.shuffle(chunks)
    await uploader.publish(chunks[0], attempt.finished(), *chunks[1:])


async def next_for(uploader, routing_key, attempt, destination) -> dict:
    return await uploader.next_event(
        routing_key, attempt_id=attempt.attempt_id, volume_id=destination.volume_id
    )


def assert_stored_locally(volume: Path, attempt) -> None:
    artifact = volume / attempt.destination.artifact_key
    assert artifact.read_bytes() == attempt.artifact
    assert_gzip_valid(artifact)
    manifest = json.loads((volume / manifest_key(attempt.destination.artifact_key)).read_text())
    assert_manifest(manifest, attempt)
    assert not (volume / ".parts").exists()


async def _zero(count) -> bool:
    return await count == 0


class TestTwoLocalVolumes:
    async def test_both_volumes_get_the_same_artifact_and_manifest(self, uploader, tmp_path):
        """Staging and volumes share a filesystem: the staged file is copied, not moved."""
        first, second = folder(tmp_path, "first"), folder(tmp_path, "second")
        attempt = await attempt_with_copies(
            uploader, local_spec(first), [local_spec(second)], (3 * MIB, 2 * MIB, 70_000)
        )

        await publish_shuffled(uploader, attempt)

        for destination in (attempt.destination, *attempt.copies):
            stored = await next_for(uploader, "backup.stored", attempt, destination)
            assert stored["path"] == attempt.destination.artifact_key
            assert stored["size"] == len(attempt.artifact)
        assert_stored_locally(first, attempt)
        assert_stored_locally(second, attempt)
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))
        copies = 2 * len(attempt.chunks)
        later = await uploader.drain(0.5, until=lambda seen: len(stored_seqs(seen)) >= copies)
        assert [k for k, _ in later if k != "chunk.stored"] == []
        assert len(stored_seqs(later)) == copies

    async def test_dump_failed_aborts_every_copy(self, uploader, tmp_path):
        first, second = folder(tmp_path, "first"), folder(tmp_path, "second")
        attempt = await attempt_with_copies(
            uploader, local_spec(first), [local_spec(second)], (4000, 3000)
        )
        await uploader.publish(attempt.chunks[0])
        for destination in (attempt.destination, *attempt.copies):
            await next_for(uploader, "chunk.stored", attempt, destination)
        assert (first / ".parts").is_dir()
        assert (second / ".parts").is_dir()

        await uploader.publish(
            DumpFailed(
                snapshot_id=attempt.snapshot_id,
                attempt_id=attempt.attempt_id,
                reason="pg_dump exited with code 1",
                destination=attempt.destination,
                copies=attempt.copies,
            )
        )

        await wait_until(lambda: _zero(uploader.staged_count(attempt)))
        for volume in (first, second):
            await wait_until(lambda v=volume: _no_parts(v))
            assert not (volume / attempt.destination.artifact_key).exists()


class TestOneCopyFails:
    async def test_a_missing_bucket_fails_only_the_s3_copy(self, uploader, s3_server, tmp_path):
        local = folder(tmp_path, "local")
        attempt = await attempt_with_copies(
            uploader,
            local_spec(local),
            [s3_spec(s3_server, "missing-bucket-copies")],
            (2 * MIB, 5000, 1000),
        )
        s3_copy = attempt.copies[0]

        await publish_shuffled(uploader, attempt)

        failed = await next_for(uploader, "upload.failed", attempt, s3_copy)
        assert failed["reason"] == (
            f"bucket missing-bucket-copies does not exist on {s3_server.endpoint}"
        )
        stored = await next_for(uploader, "backup.stored", attempt, attempt.destination)
        assert stored["size"] == len(attempt.artifact)
        assert_stored_locally(local, attempt)
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))
        later = await uploader.drain(0.5)
        assert [k for k, _ in later if k in {"upload.failed", "backup.stored"}] == []

    async def test_the_primary_failing_leaves_the_copy_stored(
        self, uploader, s3_server, s3_bucket, tmp_path
    ):
        """The primary is the broken one (its directory's parent is missing, so it is not
        made): the copy on a real S3 bucket still completes."""
        missing = tmp_path / "unmounted" / "never-created"
        attempt = await attempt_with_copies(
            uploader,
            local_spec(missing),
            [s3_spec(s3_server, s3_bucket, "copies")],
            (5 * MIB, 300_000),
        )

        await publish_shuffled(uploader, attempt)

        failed = await next_for(uploader, "upload.failed", attempt, attempt.destination)
        assert str(missing) in failed["reason"]
        stored = await next_for(uploader, "backup.stored", attempt, attempt.copies[0])
        body = s3_server.client().get_object(s3_bucket, f"copies/{stored['path']}")
        try:
            assert body.read() == attempt.artifact
        finally:
            body.close()
        await wait_until(lambda: _zero(uploader.staged_count(attempt)))


async def _no_parts(volume: Path) -> bool:
    return not any((volume / ".parts").rglob("*.part*")) if (volume / ".parts").exists() else True
