"""The manifest and the completeness check, as pure functions."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.uploader.errors import IncompleteArtifactError
from services.uploader.manifest import build_manifest, check_complete, encode_manifest
from services.uploader.upload import ChunkRecord
from shared.events import Destination, DumpFinished


def finished(*, chunk_count: int, size: int) -> DumpFinished:
    return DumpFinished(
        snapshot_id=uuid4(),
        attempt_id=uuid4(),
        chunk_count=chunk_count,
        raw_size=1000,
        size=size,
        sha256="ab" * 32,
        tool="mariadb-dump",
        tool_version="mariadb-dump 10.11",
        server_version="10.11.6-MariaDB",
        table_rows={"shop.orders": 12},
        destination=Destination(
            volume_id=uuid4(), volume="sealed", artifact_key="s/d/x.sql.zst", compression="zstd"
        ),
        started_at=datetime.now(UTC),
    )


CHUNKS = [ChunkRecord(1, 20, 200, "b" * 64), ChunkRecord(0, 10, 100, "a" * 64)]


class TestCheckComplete:
    def test_returns_the_chunks_in_order(self):
        ordered = check_complete(CHUNKS, finished(chunk_count=2, size=30))
        assert [c.seq for c in ordered] == [0, 1]

    def test_a_missing_chunk_is_named(self):
        with pytest.raises(IncompleteArtifactError, match=r"reported 3 chunks, but chunks \[2\]"):
            check_complete(CHUNKS, finished(chunk_count=3, size=30))

    def test_sizes_that_do_not_add_up_are_refused(self):
        with pytest.raises(IncompleteArtifactError, match=r"add up to 30 bytes, but .* 31"):
            check_complete(CHUNKS, finished(chunk_count=2, size=31))


class TestBuildManifest:
    def test_lists_chunks_with_offsets_and_the_dump_facts(self):
        done = finished(chunk_count=2, size=30)
        created = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

        manifest = build_manifest(done, CHUNKS, created_at=created)

        assert manifest == {
            "format": 1,
            "snapshot_id": str(done.snapshot_id),
            "attempt_id": str(done.attempt_id),
            "artifact": "s/d/x.sql.zst",
            "compression": "zstd",
            "size": 30,
            "raw_size": 1000,
            "sha256": "ab" * 32,
            "tool": "mariadb-dump",
            "tool_version": "mariadb-dump 10.11",
            "server_version": "10.11.6-MariaDB",
            "created_at": "2026-11-25T03:00:00+00:00",
            "table_rows": {"shop.orders": 12},
            "chunks": [
                {"seq": 0, "offset": 0, "size": 10, "raw_size": 100, "sha256": "a" * 64},
                {"seq": 1, "offset": 10, "size": 20, "raw_size": 200, "sha256": "b" * 64},
            ],
        }
        assert encode_manifest(manifest).endswith(b"}\n")
