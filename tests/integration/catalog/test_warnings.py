"""The catalog keeps SnapshotWarned (a failed hook) in the snapshot's `warnings`, once, and
never changes its status for it."""

from uuid import uuid4

from shared.events import SnapshotWarned
from tests.support.snapshot_events import at, requested, stored


class TestWarnings:
    async def test_a_warning_is_kept_once_and_the_status_stays_completed(self, catalog):
        sid = uuid4()
        await catalog.publish(requested(sid, server_id=uuid4(), t=0), stored(sid, uuid4(), 5))
        await catalog.wait_for(sid, lambda s: s["status"] == "completed")
        warning = SnapshotWarned(
            snapshot_id=sid,
            source="post_backup_hook",
            message="hook /bin/false exited with code 1",
            exit_code=1,
            occurred_at=at(10),
        )

        await catalog.publish(warning, warning)  # the second is a redelivery
        snapshot = await catalog.wait_for(sid, lambda s: bool(s["warnings"]))
        marker = uuid4()
        await catalog.publish(requested(marker, server_id=uuid4(), t=0))
        await catalog.wait_for(marker)  # events are handled in order: both copies are in

        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        assert snapshot["status"] == "completed"
        assert [(w["source"], w["exit_code"], w["message"]) for w in snapshot["warnings"]] == [
            ("post_backup_hook", 1, "hook /bin/false exited with code 1")
        ]
        assert any(e["event_type"] == "SnapshotWarned" for e in snapshot["timeline"])

    async def test_a_warning_never_moves_a_status_nor_sets_an_error(self, catalog):
        sid = uuid4()
        await catalog.publish(requested(sid, server_id=uuid4(), t=0))
        await catalog.wait_for(sid)
        await catalog.publish(
            SnapshotWarned(snapshot_id=sid, source="post_backup_hook", message="m", exit_code=2)
        )
        snapshot = await catalog.wait_for(sid, lambda s: bool(s["warnings"]))
        assert snapshot["status"] == "pending"
        assert snapshot["error"] is None
