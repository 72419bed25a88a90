"""Which copy of a snapshot the api reads and deletes."""

from datetime import UTC, datetime
from uuid import uuid4

from services.api.copies import stored_copies
from services.api.schemas import SnapshotDetail
from services.api.usecases.snapshot_deletion import _copies

PRIMARY, SECOND, THIRD = uuid4(), uuid4(), uuid4()


def snapshot(status: str = "completed", copies: list | None = None, **fields) -> SnapshotDetail:
    base = {
        "id": uuid4(), "status": status, "server_id": None, "server_name": "prod",
        "database": "shop", "volume_id": PRIMARY, "compression": "gzip",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "started_at": None,
        "finished_at": None, "bytes_dumped": 0, "size": 10, "sha256": None,
        "path": "prod/shop/a.sql.gz", "error": None, "copies": copies or [],
    }  # fmt: skip
    return SnapshotDetail.model_validate(base | fields)


def copy(volume_id, status: str, path: str | None = "prod/shop/a.sql.gz") -> dict:
    return {"volume_id": str(volume_id), "status": status, "path": path, "size": 10}


class TestStoredCopies:
    def test_only_stored_copies_in_order_primary_first(self):
        found = stored_copies(
            snapshot(
                copies=[
                    copy(PRIMARY, "failed", None),
                    copy(SECOND, "stored"),
                    copy(THIRD, "stored"),
                ]
            )
        )
        assert [c.volume_id for c in found] == [SECOND, THIRD]

    def test_a_record_without_copies_is_its_one_volume(self):
        found = stored_copies(snapshot(manifest_path="prod/shop/a.manifest.json"))
        assert [(c.volume_id, c.path, c.manifest_path) for c in found] == [
            (PRIMARY, "prod/shop/a.sql.gz", "prod/shop/a.manifest.json")
        ]

    def test_a_deleted_or_missing_copy_is_never_read(self):
        found = stored_copies(
            snapshot(copies=[copy(PRIMARY, "deleted"), copy(SECOND, "missing", None)])
        )
        assert found == []


class TestDeletionTargets:
    def test_one_target_per_stored_copy(self):
        targets = _copies(snapshot(copies=[copy(PRIMARY, "stored"), copy(SECOND, "failed", None)]))
        assert [volume for volume, _, _ in targets] == [PRIMARY]

    def test_a_failed_snapshot_is_deleted_through_its_primary_volume(self):
        failed = snapshot(
            "failed", copies=[copy(PRIMARY, "failed", None), copy(SECOND, "failed", None)],
            path=None,
        )  # fmt: skip
        assert _copies(failed) == [(PRIMARY, None, None)]
