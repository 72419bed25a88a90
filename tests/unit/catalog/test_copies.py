"""Issue 8: a snapshot's copies, one per volume; how their fates add up, in any order."""

from itertools import permutations
from uuid import UUID, uuid4

import pytest

from services.catalog.snapshots.model import SnapshotRecord
from services.catalog.snapshots.status import apply_event, fail
from services.catalog.snapshots.timeouts import stuck_reason
from shared.events import (
    BackupStored,
    DumpFailed,
    Event,
    SnapshotDeleted,
    UploadFailed,
)
from tests.support.snapshot_events import at, destination, finished, requested, started
from tests.unit.catalog.test_status import fold

PRIMARY = UUID("00000000-0000-4000-8000-0000000000a1")
SECOND = UUID("00000000-0000-4000-8000-0000000000b2")


def to_both(sid: UUID):
    return requested(sid, PRIMARY).model_copy(update={"copies": [destination(SECOND)]})


def stored_on(sid: UUID, attempt: UUID, volume_id: UUID, t: float = 9) -> BackupStored:
    return BackupStored(
        snapshot_id=sid,
        occurred_at=at(t),
        attempt_id=attempt,
        volume_id=volume_id,
        path=f"prod/shop/{volume_id}.sql.gz",
        manifest_path=f"prod/shop/{volume_id}.manifest.json",
        size=123,
        sha256="ab" * 32,
    )


def failed_on(sid: UUID, volume_id: UUID, reason: str, t: float = 8) -> UploadFailed:
    return UploadFailed(snapshot_id=sid, occurred_at=at(t), volume_id=volume_id, reason=reason)


def states(record: SnapshotRecord) -> dict[UUID, tuple[str, str | None]]:
    return {copy.volume_id: (copy.status, copy.error) for copy in record.copies}


def every_order(events: list[Event]) -> list[list[Event]]:
    return [list(order) for order in permutations(events)]


class TestExpectedCopies:
    def test_backup_requested_expects_the_destination_then_each_copy(self):
        record = fold([to_both(uuid4())])
        assert [(c.volume_id, c.status) for c in record.copies] == [
            (PRIMARY, "pending"),
            (SECOND, "pending"),
        ]
        assert record.volume_id == PRIMARY
        assert record.public()["copies"][0] == {
            "volume_id": str(PRIMARY),
            "status": "pending",
            "path": None,
            "manifest_path": None,
            "size": None,
            "error": None,
        }

    def test_one_copy_stored_of_two_keeps_it_in_progress(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([to_both(sid), started(sid, attempt, 1), stored_on(sid, attempt, PRIMARY)])
        assert record.status == "in_progress"
        assert states(record)[PRIMARY] == ("stored", None)
        assert states(record)[SECOND] == ("pending", None)


class TestEveryOrder:
    """The same events in any order end in the same record."""

    @pytest.mark.parametrize("order", range(24))
    def test_one_stored_one_failed_is_completed_with_the_failure_shown(self, order):
        sid, attempt = uuid4(), uuid4()
        events = [
            to_both(sid),
            finished(sid, attempt, 5, 4096),
            stored_on(sid, attempt, PRIMARY),
            failed_on(sid, SECOND, "bucket offsite does not exist on s3.local"),
        ]
        record = fold(every_order(events)[order])
        assert record.status == "completed"
        assert record.error is None
        assert states(record) == {
            PRIMARY: ("stored", None),
            SECOND: ("failed", "bucket offsite does not exist on s3.local"),
        }
        assert (record.volume_id, record.path, record.size) == (
            PRIMARY,
            f"prod/shop/{PRIMARY}.sql.gz",
            123,
        )
        assert [c.volume_id for c in record.copies] == [PRIMARY, SECOND]

    @pytest.mark.parametrize("order", range(6))
    def test_primary_failed_copy_stored_shows_the_stored_copy(self, order):
        sid, attempt = uuid4(), uuid4()
        events = [
            to_both(sid),
            failed_on(sid, PRIMARY, "volume directory /srv/a does not exist"),
            stored_on(sid, attempt, SECOND),
        ]
        record = fold(every_order(events)[order])
        assert record.status == "completed"
        assert (record.volume_id, record.path) == (SECOND, f"prod/shop/{SECOND}.sql.gz")
        assert record.manifest_path == f"prod/shop/{SECOND}.manifest.json"
        assert states(record)[PRIMARY] == ("failed", "volume directory /srv/a does not exist")

    @pytest.mark.parametrize("order", range(6))
    def test_every_copy_failed_fails_with_each_volumes_reason(self, order):
        sid = uuid4()
        events = [
            to_both(sid),
            failed_on(sid, PRIMARY, "disk full"),
            failed_on(sid, SECOND, "bucket missing"),
        ]
        record = fold(every_order(events)[order])
        assert record.status == "failed"
        assert record.error == (
            f"no copy was stored: volume {PRIMARY}: disk full; volume {SECOND}: bucket missing"
        )

    @pytest.mark.parametrize("order", range(6))
    def test_both_stored_is_completed(self, order):
        sid, attempt = uuid4(), uuid4()
        events = [to_both(sid), stored_on(sid, attempt, SECOND), stored_on(sid, attempt, PRIMARY)]
        record = fold(every_order(events)[order])
        assert record.status == "completed"
        assert states(record) == {PRIMARY: ("stored", None), SECOND: ("stored", None)}
        assert record.volume_id == PRIMARY

    def test_an_upload_failure_before_the_request_does_not_fail_it_yet(self):
        sid = uuid4()
        record = fold([failed_on(sid, PRIMARY, "disk full")])
        assert record.status == "in_progress"


class TestDumpFailed:
    def test_fails_the_snapshot_and_every_unfinished_copy(self):
        sid = uuid4()
        record = fold([to_both(sid), DumpFailed(snapshot_id=sid, reason="pg_dump exited 1")])
        assert record.status == "failed"
        assert record.error == "pg_dump exited 1"
        assert states(record) == {
            PRIMARY: ("failed", "pg_dump exited 1"),
            SECOND: ("failed", "pg_dump exited 1"),
        }

    def test_before_the_request_the_copies_still_show_the_failure(self):
        sid = uuid4()
        record = fold([DumpFailed(snapshot_id=sid, reason="boom"), to_both(sid)])
        assert record.status == "failed"
        assert {status for status, _ in states(record).values()} == {"failed"}

    def test_a_stored_copy_stands(self):
        sid, attempt = uuid4(), uuid4()
        record = fold(
            [
                to_both(sid),
                stored_on(sid, attempt, PRIMARY),
                DumpFailed(snapshot_id=sid, reason="x"),
            ]
        )
        assert record.status == "in_progress"
        assert states(record)[PRIMARY] == ("stored", None)


class TestTimeOut:
    def test_a_stored_copy_completes_it_and_the_others_go_missing(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([to_both(sid), started(sid, attempt, 1), stored_on(sid, attempt, PRIMARY)])
        reason = stuck_reason(record, now=at(1000), progress_timeout=5, pending_timeout=5)
        assert reason == "no progress for 5 s"

        after = fail(record, reason, at=at(1000), missing_reason=f"timed out: {reason}")

        assert after.status == "completed"
        assert after.error is None
        assert states(after) == {
            PRIMARY: ("stored", None),
            SECOND: ("missing", "timed out: no progress for 5 s"),
        }

    def test_without_a_stored_copy_it_fails(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([to_both(sid), started(sid, attempt, 1), failed_on(sid, SECOND, "denied")])
        after = fail(record, "no progress for 5 s", at=at(1000))
        assert after.status == "failed"
        assert after.error == "no progress for 5 s"
        assert states(after) == {
            PRIMARY: ("failed", "no progress for 5 s"),
            SECOND: ("failed", "denied"),
        }

    def test_a_missing_copy_that_arrives_late_is_stored(self):
        sid, attempt = uuid4(), uuid4()
        record = fold([to_both(sid), stored_on(sid, attempt, PRIMARY)])
        timed_out = fail(record, "no progress", at=at(50), missing_reason="timed out: no progress")
        late = apply_event(timed_out, stored_on(sid, attempt, SECOND, t=60), now=at(61))
        assert late.status == "completed"
        assert states(late)[SECOND] == ("stored", None)


class TestDeletion:
    @pytest.mark.parametrize("first", [PRIMARY, SECOND])
    def test_the_snapshot_is_deleted_once_no_stored_copy_remains(self, first):
        sid, attempt = uuid4(), uuid4()
        other = SECOND if first == PRIMARY else PRIMARY
        done = fold(
            [to_both(sid), stored_on(sid, attempt, PRIMARY), stored_on(sid, attempt, SECOND)]
        )

        one_gone = apply_event(done, SnapshotDeleted(snapshot_id=sid, volume_id=first), now=at(200))
        assert one_gone.status == "completed"
        assert states(one_gone)[first] == ("deleted", None)
        assert one_gone.volume_id == other

        both_gone = apply_event(
            one_gone, SnapshotDeleted(snapshot_id=sid, volume_id=other), now=at(201)
        )
        assert both_gone.status == "deleted"
        assert {status for status, _ in states(both_gone).values()} == {"deleted"}

    def test_a_failed_copy_does_not_keep_the_snapshot(self):
        sid, attempt = uuid4(), uuid4()
        done = fold([to_both(sid), stored_on(sid, attempt, PRIMARY), failed_on(sid, SECOND, "x")])
        gone = apply_event(done, SnapshotDeleted(snapshot_id=sid, volume_id=PRIMARY), now=at(200))
        assert gone.status == "deleted"
        assert states(gone)[SECOND] == ("failed", "x")
