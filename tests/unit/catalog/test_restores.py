"""The catalog's restore rules: transitions, terminal states, arrival order, verify outcomes."""

from uuid import UUID, uuid4

from services.catalog.restores.status import (
    RestoreRecord,
    apply_restore_event,
    ended,
    fail_restore,
    verification,
)
from services.catalog.snapshots.timeouts import stuck_reason
from shared.events import (
    RestoreFailed,
    RestoreFinished,
    RestoreProgressed,
    RestoreRequested,
    RestoreSource,
    RestoreStarted,
    TableDifference,
)
from tests.support.snapshot_events import at


def requested(rid: UUID, sid: UUID, *, mode: str = "restore", t: float = 0) -> RestoreRequested:
    return RestoreRequested(
        snapshot_id=sid,
        occurred_at=at(t),
        restore_id=rid,
        mode=mode,  # type: ignore[arg-type]
        server_id=UUID(int=7),
        server_type="postgresql",
        connection="sealed",
        database="shop_copy",
        overwrite=True,
        source=RestoreSource(
            volume_id=uuid4(),
            volume="sealed",
            artifact_key="prod/shop/x.sql.gz",
            manifest_key="prod/shop/x.manifest.json",
            compression="gzip",
        ),
        requested_at=at(t),
    )


def started(rid: UUID, sid: UUID, attempt: UUID, t: float) -> RestoreStarted:
    return RestoreStarted(
        snapshot_id=sid,
        occurred_at=at(t),
        restore_id=rid,
        attempt_id=attempt,
        tool="psql",
        tool_version="psql 15",
        created_database=True,
    )


def progressed(rid: UUID, sid: UUID, t: float, restored: int) -> RestoreProgressed:
    return RestoreProgressed(
        snapshot_id=sid,
        occurred_at=at(t),
        restore_id=rid,
        bytes_read=restored // 4,
        bytes_restored=restored,
        chunks_verified=restored // 100,
    )


def finished(
    rid: UUID, sid: UUID, t: float, *, mode: str = "restore", differences: int = 0
) -> RestoreFinished:
    diffs = [
        TableDifference(table=f"public.t{i}", expected=3, actual=2) for i in range(differences)
    ]
    return RestoreFinished(
        snapshot_id=sid,
        occurred_at=at(t),
        restore_id=rid,
        mode=mode,  # type: ignore[arg-type]
        bytes_restored=9000,
        verify_ok=(not diffs) if mode == "verify" else None,
        table_differences=diffs,
    )


def failed(rid: UUID, sid: UUID, t: float, reason: str = "artifact corrupt at chunk 3"):
    return RestoreFailed(
        snapshot_id=sid,
        occurred_at=at(t),
        restore_id=rid,
        mode="restore",
        reason=reason,
        target_dropped=True,
    )


def fold(events) -> RestoreRecord:
    record = None
    for i, event in enumerate(events):
        record = apply_restore_event(record, event, now=at(100 + i))
    assert record is not None
    return record


class TestTransitions:
    def test_restore_requested_creates_a_pending_record_with_its_target(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid)])
        assert (record.status, record.mode, record.database) == ("pending", "restore", "shop_copy")
        assert (record.snapshot_id, record.server_id, record.overwrite) == (sid, UUID(int=7), True)
        assert record.created_at == at(0)

    def test_started_and_progress_make_it_in_progress_with_bytes(self):
        rid, sid = uuid4(), uuid4()
        record = fold(
            [requested(rid, sid), started(rid, sid, uuid4(), 1), progressed(rid, sid, 2, 400)]
        )
        assert record.status == "in_progress"
        assert (record.bytes_restored, record.bytes_read, record.chunks_verified) == (400, 100, 4)
        assert record.started_at == at(1)
        assert record.created_database is True

    def test_finished_completes_it(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid), started(rid, sid, uuid4(), 1), finished(rid, sid, 5)])
        assert record.status == "completed"
        assert record.bytes_restored == 9000
        assert record.finished_at == at(5)
        assert record.error is None

    def test_failed_keeps_the_reason_and_whether_the_target_was_dropped(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid), failed(rid, sid, 3)])
        assert (record.status, record.error) == ("failed", "artifact corrupt at chunk 3")
        assert record.target_dropped is True
        assert record.finished_at == at(3)


class TestOrder:
    def test_late_progress_does_not_overwrite_completed(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid), finished(rid, sid, 5), progressed(rid, sid, 4, 10)])
        assert record.status == "completed"
        assert record.bytes_restored == 9000

    def test_a_late_failure_does_not_overwrite_completed(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid), finished(rid, sid, 5), failed(rid, sid, 6)])
        assert record.status == "completed"
        assert record.error is None

    def test_an_event_before_its_request_makes_a_placeholder_filled_in_later(self):
        rid, sid = uuid4(), uuid4()
        placeholder = fold([progressed(rid, sid, 2, 50)])
        assert (placeholder.status, placeholder.requested, placeholder.mode) == (
            "in_progress",
            False,
            None,
        )
        record = apply_restore_event(placeholder, requested(rid, sid), now=at(200))
        assert (record.status, record.requested, record.database) == (
            "in_progress",
            True,
            "shop_copy",
        )
        assert record.bytes_restored == 50

    def test_a_request_after_the_end_fills_in_the_target_but_keeps_the_status(self):
        rid, sid = uuid4(), uuid4()
        record = fold([finished(rid, sid, 5, mode="verify"), requested(rid, sid, mode="verify")])
        assert (record.status, record.mode, record.server_id) == (
            "completed",
            "verify",
            UUID(int=7),
        )

    def test_a_start_after_the_end_fills_in_its_facts_but_keeps_the_status(self):
        rid, sid, attempt = uuid4(), uuid4(), uuid4()
        record = fold([requested(rid, sid), finished(rid, sid, 5), started(rid, sid, attempt, 1)])
        assert (record.status, record.bytes_restored) == ("completed", 9000)
        assert (record.attempt_id, record.created_database, record.started_at) == (
            attempt,
            True,
            at(1),
        )
        # Once known, a later start (an older attempt's) changes nothing.
        again = apply_restore_event(record, started(rid, sid, uuid4(), 0), now=at(300))
        assert again.attempt_id == attempt

    def test_progress_that_overtook_its_start_still_counts(self):
        rid, sid = uuid4(), uuid4()
        record = fold(
            [requested(rid, sid), progressed(rid, sid, 2, 400), started(rid, sid, uuid4(), 1)]
        )
        assert (record.status, record.bytes_restored, record.started_at) == (
            "in_progress",
            400,
            at(1),
        )

    def test_progress_never_goes_back_within_an_attempt(self):
        rid, sid = uuid4(), uuid4()
        attempt = uuid4()
        record = fold(
            [
                started(rid, sid, attempt, 1),
                progressed(rid, sid, 3, 800),
                progressed(rid, sid, 2, 400),
            ]
        )
        assert record.bytes_restored == 800

    def test_a_new_attempt_counts_from_zero_and_an_old_ones_progress_is_ignored(self):
        rid, sid = uuid4(), uuid4()
        record = fold(
            [
                started(rid, sid, uuid4(), 1),
                progressed(rid, sid, 2, 800),
                started(rid, sid, uuid4(), 10),
                progressed(rid, sid, 3, 900),
                progressed(rid, sid, 11, 100),
            ]
        )
        assert record.started_at == at(10)
        assert record.bytes_restored == 100

    def test_fail_is_idempotent_and_never_overwrites_an_end(self):
        rid, sid = uuid4(), uuid4()
        done = fold([requested(rid, sid), finished(rid, sid, 5)])
        assert fail_restore(done, "no progress for 300 s", at=at(9)) == done
        pending = fold([requested(rid, sid)])
        once = fail_restore(pending, "no progress", at=at(9))
        assert fail_restore(once, "again", at=at(10)) == once
        assert ended(pending, once)
        assert not ended(once, once)


class TestVerification:
    def test_a_passing_verify_is_ok(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid, mode="verify"), finished(rid, sid, 5, mode="verify")])
        assert verification(record) == (at(5), {"ok": True})

    def test_a_verify_with_differences_names_the_tables(self):
        rid, sid = uuid4(), uuid4()
        record = fold(
            [
                requested(rid, sid, mode="verify"),
                finished(rid, sid, 5, mode="verify", differences=2),
            ]
        )
        when, result = verification(record)  # type: ignore[misc]
        assert when == at(5)
        assert result == {
            "ok": False,
            "tables": [
                {"table": "public.t0", "expected": 3, "actual": 2},
                {"table": "public.t1", "expected": 3, "actual": 2},
            ],
        }

    def test_a_failed_verify_says_why(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid, mode="verify"), failed(rid, sid, 4, "psql too old")])
        assert verification(record) == (at(4), {"ok": False, "error": "psql too old"})

    def test_a_restore_or_an_unfinished_verify_is_no_verification(self):
        rid, sid = uuid4(), uuid4()
        assert verification(fold([requested(rid, sid), finished(rid, sid, 5)])) is None
        assert verification(fold([requested(rid, sid, mode="verify")])) is None


class TestStuck:
    def test_a_silent_restore_fails_with_no_progress(self):
        rid, sid = uuid4(), uuid4()
        record = fold([requested(rid, sid), started(rid, sid, uuid4(), 1)])
        reason = stuck_reason(
            record, now=at(100 + 1 + 300), progress_timeout=300, pending_timeout=3600
        )
        assert reason == "no progress for 300 s"
        assert stuck_reason(record, now=at(102), progress_timeout=300, pending_timeout=3600) is None
