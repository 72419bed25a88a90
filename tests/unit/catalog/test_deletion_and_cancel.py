"""Deletion and cancellation: deleted is final, a failed delete leaves a note, cancel of pending."""

from uuid import uuid4

from services.catalog.snapshots.detail import (
    TimelineEntry,
    duration_seconds,
    snapshot_detail,
    summarise,
)
from services.catalog.snapshots.status import apply_event
from shared.events import (
    DumpFailed,
    SnapshotCancelRequested,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotDeleteRequested,
)
from tests.support.snapshot_events import (
    VOLUME,
    at,
    finished,
    progressed,
    requested,
    started,
    stored,
)
from tests.unit.catalog.test_status import fold


def delete_requested(sid):
    return SnapshotDeleteRequested(snapshot_id=sid, volume_id=uuid4(), volume="sealed")


class TestDeletion:
    def test_deleted_ends_a_completed_snapshot(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), stored(sid, attempt, 5), delete_requested(sid),
             SnapshotDeleted(snapshot_id=sid, volume_id=VOLUME)]
        )  # fmt: skip
        assert record.status == "deleted"
        assert record.size == 123

    def test_deleted_ends_a_failed_snapshot(self):
        sid = uuid4()
        failed = DumpFailed(snapshot_id=sid, reason="boom")
        record = fold([requested(sid), failed, SnapshotDeleted(snapshot_id=sid, volume_id=VOLUME)])
        assert record.status == "deleted"

    def test_a_failed_delete_keeps_the_status_and_records_why(self):
        sid, attempt = uuid4(), uuid4()
        refused = SnapshotDeleteFailed(snapshot_id=sid, volume_id=uuid4(), reason="access denied")
        record = fold([requested(sid), stored(sid, attempt, 5), delete_requested(sid), refused])
        assert record.status == "completed"
        assert record.delete_error == "access denied"

    def test_a_new_delete_request_clears_the_old_error_and_success_ends_it(self):
        sid, attempt = uuid4(), uuid4()
        refused = SnapshotDeleteFailed(snapshot_id=sid, volume_id=uuid4(), reason="denied")
        record = fold([requested(sid), stored(sid, attempt, 5), refused, delete_requested(sid)])
        assert record.delete_error is None
        record = apply_event(
            record, SnapshotDeleted(snapshot_id=sid, volume_id=VOLUME), now=at(200)
        )
        assert record.status == "deleted"

    def test_nothing_moves_a_deleted_snapshot(self):
        sid, attempt = uuid4(), uuid4()
        refused = SnapshotDeleteFailed(snapshot_id=sid, volume_id=uuid4(), reason="late")
        record = fold(
            [requested(sid), stored(sid, attempt, 5),
             SnapshotDeleted(snapshot_id=sid, volume_id=VOLUME),
             refused, progressed(sid, attempt, 9, 10), DumpFailed(snapshot_id=sid, reason="x")]
        )  # fmt: skip
        assert record.status == "deleted"
        assert record.delete_error is None
        assert record.error is None


class TestCancel:
    def test_cancel_fails_a_pending_snapshot_at_once(self):
        sid = uuid4()
        record = fold([requested(sid), SnapshotCancelRequested(snapshot_id=sid)])
        assert (record.status, record.error) == ("failed", "cancelled")

    def test_cancel_leaves_a_running_snapshot_to_the_dumper(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), started(sid, attempt, 1), SnapshotCancelRequested(snapshot_id=sid)]
        )
        assert record.status == "in_progress"
        record = apply_event(record, DumpFailed(snapshot_id=sid, reason="cancelled"), now=at(300))
        assert (record.status, record.error) == ("failed", "cancelled")

    def test_cancel_after_completion_changes_nothing(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), stored(sid, attempt, 3), SnapshotCancelRequested(snapshot_id=sid)]
        )
        assert record.status == "completed"

    def test_a_cancel_that_overtakes_its_request_still_wins(self):
        sid = uuid4()
        record = fold([SnapshotCancelRequested(snapshot_id=sid), requested(sid)])
        assert (record.status, record.error, record.database) == ("failed", "cancelled", "shop")


class TestDetail:
    def test_progress_duration_and_manifest_come_from_the_events(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), started(sid, attempt, 1), progressed(sid, attempt, 2, 400),
             finished(sid, attempt, 3, 8192), stored(sid, attempt, 11)]
        )  # fmt: skip
        record = record.model_copy(update={"manifest": {"format": 1}})
        detail = snapshot_detail(record, [])
        assert detail["progress"] == {
            "bytes_dumped": 8192, "bytes_compressed": 100, "chunks_staged": 1
        }  # fmt: skip
        assert detail["duration_seconds"] == 10.0
        assert detail["manifest"] == {"format": 1}
        assert detail["delete_error"] is None

    def test_a_running_snapshot_has_no_duration_yet(self):
        sid, attempt = uuid4(), uuid4()
        assert duration_seconds(fold([requested(sid), started(sid, attempt, 1)])) is None

    def test_the_timeline_summarises_each_event(self):
        sid = uuid4()
        entry = TimelineEntry(
            "DumpFailed", at(3), DumpFailed(snapshot_id=sid, reason="bad password").model_dump()
        )
        detail = snapshot_detail(fold([requested(sid)]), [entry])
        assert detail["timeline"] == [
            {"event_type": "DumpFailed", "occurred_at": at(3).isoformat(),
             "summary": "dump failed: bad password"}
        ]  # fmt: skip

    def test_an_unexpected_payload_falls_back_to_the_event_type(self):
        assert summarise("DumpStarted", {}) == "DumpStarted"
        assert summarise("SomethingNew", {"x": 1}) == "SomethingNew"


class TestLateDumpFinished:
    def test_a_dump_finished_after_its_backup_stored_fills_the_totals(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), stored(sid, attempt, 9), finished(sid, attempt, 3, 8192)])
        assert record.status == "completed"
        assert (record.bytes_dumped, record.bytes_compressed, record.chunks_staged) == (
            8192,
            100,
            1,
        )
        assert record.started_at == at(1)

    def test_a_dump_finished_of_another_attempt_changes_nothing(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), stored(sid, attempt, 9), finished(sid, uuid4(), 3, 8192)])
        assert record.bytes_dumped == 0
