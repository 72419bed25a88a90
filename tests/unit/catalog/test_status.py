"""The catalog's status rules: transitions, terminal states, out-of-order and placeholders."""

from uuid import uuid4

from services.catalog.snapshots.model import SnapshotRecord
from services.catalog.snapshots.status import apply_event, fail
from services.catalog.snapshots.timeouts import stuck_reason
from shared.events import ChunkStaged, ChunkStored, DumpFailed, Event, UploadFailed, chunk_key
from tests.support.snapshot_events import (
    VOLUME,
    at,
    destination,
    finished,
    progressed,
    requested,
    started,
    stored,
)


def fold(events: list[Event]) -> SnapshotRecord:
    record = None
    for i, event in enumerate(events):
        record = apply_event(record, event, now=at(100 + i))
    assert record is not None
    return record


class TestTransitions:
    def test_backup_requested_creates_a_pending_record_with_its_metadata(self):
        sid, volume = uuid4(), uuid4()
        record = fold([requested(sid, volume)])
        assert record.status == "pending"
        assert record.requested
        assert (record.server_name, record.database, record.volume_id) == ("prod", "shop", volume)
        assert record.compression == "zstd"
        assert record.created_at == at(0)

    def test_dump_activity_makes_it_in_progress_with_bytes_dumped(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), started(sid, attempt, 1), progressed(sid, attempt, 2, 500)])
        assert record.status == "in_progress"
        assert record.bytes_dumped == 500
        assert record.started_at == at(1)
        assert record.attempt_id == attempt

    def test_backup_stored_completes_it_with_size_sha_and_path(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), started(sid, attempt, 1), stored(sid, attempt, 9)])
        assert record.status == "completed"
        assert (record.size, record.sha256, record.path) == (123, "ab" * 32, "prod/shop/x.sql.gz")
        assert record.finished_at == at(9)

    def test_dump_failed_fails_it_with_the_reason(self):
        sid = uuid4()
        failed = DumpFailed(snapshot_id=sid, reason="password authentication failed")
        record = fold([requested(sid), failed])
        assert record.status == "failed"
        assert record.error == "password authentication failed"

    def test_upload_failed_fails_it_with_the_reason(self):
        sid = uuid4()
        failed = UploadFailed(snapshot_id=sid, volume_id=VOLUME, reason="bucket missing")
        assert fold([requested(sid), failed]).error == "bucket missing"

    def test_chunk_and_finish_events_keep_it_in_progress(self):
        sid, attempt = uuid4(), uuid4()
        staged = ChunkStaged(
            snapshot_id=sid,
            attempt_id=attempt,
            seq=0,
            raw_size=10,
            size=5,
            sha256="00",
            staged_key=chunk_key(sid, attempt, 0),
            destination=destination(uuid4()),
        )
        chunk = ChunkStored(snapshot_id=sid, attempt_id=attempt, seq=0, volume_id=uuid4())
        record = fold([requested(sid), staged, chunk])
        assert record.status == "in_progress"


class TestTerminalStatus:
    def test_late_in_progress_does_not_overwrite_completed(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), stored(sid, attempt, 9), progressed(sid, attempt, 5, 999)])
        assert record.status == "completed"
        assert record.bytes_dumped == 0

    def test_late_failure_does_not_overwrite_completed(self):
        sid, attempt = uuid4(), uuid4()
        late = DumpFailed(snapshot_id=sid, reason="boom", occurred_at=at(3))
        record = fold([requested(sid), stored(sid, attempt, 9), late])
        assert record.status == "completed"
        assert record.error is None

    def test_completion_after_failure_does_not_revive_it(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), DumpFailed(snapshot_id=sid, reason="x"), stored(sid, attempt, 9)]
        )
        assert record.status == "failed"
        assert record.path is None

    def test_fail_keeps_a_terminal_record(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([requested(sid), stored(sid, attempt, 9)])
        assert fail(record, "no progress for 5 s", at=at(50)) == record


class TestOutOfOrder:
    def test_event_before_backup_requested_makes_a_placeholder_filled_later(self):
        sid, attempt, volume = uuid4(), uuid4(), uuid4()
        placeholder = fold([progressed(sid, attempt, 2, 700)])
        assert placeholder.status == "in_progress"
        assert not placeholder.requested
        assert placeholder.server_name is None
        record = apply_event(placeholder, requested(sid, volume), now=at(200))
        assert record.status == "in_progress"
        assert record.bytes_dumped == 700
        assert (record.server_name, record.volume_id, record.created_at) == ("prod", volume, at(0))

    def test_completed_placeholder_stays_completed_when_requested_arrives(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([stored(sid, attempt, 9), requested(sid)])
        assert record.status == "completed"
        assert record.database == "shop"

    def test_bytes_dumped_never_decreases_within_an_attempt(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [
                requested(sid),
                started(sid, attempt, 1),
                progressed(sid, attempt, 3, 900),
                progressed(sid, attempt, 2, 400),
            ]
        )
        assert record.bytes_dumped == 900

    def test_new_attempt_resets_progress(self):
        sid, first, second = uuid4(), uuid4(), uuid4()
        record = fold(
            [
                requested(sid),
                started(sid, first, 1),
                progressed(sid, first, 2, 900),
                started(sid, second, 10),
                progressed(sid, second, 11, 100),
            ]
        )
        assert record.attempt_id == second
        assert record.bytes_dumped == 100
        assert record.started_at == at(10)

    def test_late_progress_of_an_old_attempt_is_ignored(self):
        sid, first, second = uuid4(), uuid4(), uuid4()
        record = fold(
            [
                requested(sid),
                started(sid, second, 10),
                progressed(sid, second, 11, 100),
                progressed(sid, first, 5, 5000),
            ]
        )
        assert record.attempt_id == second
        assert record.bytes_dumped == 100

    def test_started_after_progress_of_the_same_attempt_keeps_the_progress(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([progressed(sid, attempt, 2, 300), started(sid, attempt, 1)])
        assert record.bytes_dumped == 300
        assert record.started_at == at(1)

    def test_dump_finished_sets_the_whole_raw_size(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [requested(sid), progressed(sid, attempt, 2, 10), finished(sid, attempt, 5, 4096)]
        )
        assert record.bytes_dumped == 4096
        assert record.started_at == at(1)

    def test_last_event_at_is_when_the_catalog_handled_it(self):
        sid = uuid4()
        record = apply_event(None, requested(sid), now=at(500))
        assert record.last_event_at == at(500)


class TestStuckReason:
    def test_silent_in_progress_snapshot_times_out(self):
        sid, attempt = uuid4(), uuid4()
        record = apply_event(None, started(sid, attempt, 1), now=at(10))
        assert stuck_reason(record, now=at(14), progress_timeout=5, pending_timeout=60) is None
        reason = stuck_reason(record, now=at(15), progress_timeout=5, pending_timeout=60)
        assert reason == "no progress for 5 s"

    def test_pending_snapshot_never_started_times_out(self):
        record = apply_event(None, requested(uuid4()), now=at(10))
        reason = stuck_reason(record, now=at(61), progress_timeout=5, pending_timeout=60)
        assert reason == "not started within 60 s"

    def test_finished_snapshot_never_times_out(self):
        sid, attempt = uuid4(), uuid4()
        record = apply_event(None, stored(sid, attempt, 1), now=at(1))
        assert stuck_reason(record, now=at(9999), progress_timeout=5, pending_timeout=5) is None
