"""The catalog keeps a snapshot's configuration and lock, and lists retention candidates."""

from uuid import UUID, uuid4

from shared.events import SnapshotDeleted, SnapshotLockChanged
from shared.queries import RetentionCandidates
from tests.support.snapshot_events import VOLUME, at, requested, stored


def fired(sid: UUID, config_id: UUID | None, *, server_id: UUID, t: float = 0):
    return requested(sid, server_id=server_id, t=t).model_copy(update={"config_id": config_id})


def lock(sid: UUID, locked: bool, t: float) -> SnapshotLockChanged:
    return SnapshotLockChanged(snapshot_id=sid, locked=locked, occurred_at=at(t))


async def completed(catalog, sid: UUID, config_id: UUID | None, *, server_id: UUID, t: float):
    await catalog.publish(
        fired(sid, config_id, server_id=server_id, t=t), stored(sid, uuid4(), t + 5)
    )
    # The two events may be handled in either order, and the stored one alone completes the
    # snapshot: wait for the request's fields too (its configuration mark lands with them).
    return await catalog.wait_for(
        sid, lambda s: s["status"] == "completed" and s["database"] == "shop"
    )


class TestMarks:
    async def test_config_id_comes_from_the_backup_request(self, catalog):
        sid, config_id = uuid4(), uuid4()
        snapshot = await completed(catalog, sid, config_id, server_id=uuid4(), t=0)
        assert snapshot["config_id"] == str(config_id)
        assert snapshot["locked"] is False

    async def test_a_manual_backup_has_no_config(self, catalog):
        snapshot = await completed(catalog, uuid4(), None, server_id=uuid4(), t=0)
        assert snapshot["config_id"] is None

    async def test_lock_then_unlock(self, catalog):
        sid = uuid4()
        await completed(catalog, sid, None, server_id=uuid4(), t=0)
        await catalog.publish(lock(sid, True, 10))
        assert (await catalog.wait_for(sid, lambda s: s["locked"]))["status"] == "completed"
        await catalog.publish(lock(sid, False, 20))
        await catalog.wait_for(sid, lambda s: not s["locked"])

    async def test_a_late_lock_does_not_undo_a_newer_unlock(self, catalog):
        sid = uuid4()
        await completed(catalog, sid, None, server_id=uuid4(), t=0)
        await catalog.publish(lock(sid, False, 20))
        await catalog.publish(lock(sid, True, 10))  # older: ignored
        # The catalog folds events concurrently, so no other event proves these were folded:
        # wait until both are on the timeline (written in the same transaction as the mark).
        snapshot = await catalog.wait_for(
            sid,
            lambda s: [e["event_type"] for e in s["timeline"]].count("SnapshotLockChanged") == 2,
        )
        assert snapshot["locked"] is False

    async def test_a_lock_that_overtakes_its_backup_request_is_kept(self, catalog):
        sid = uuid4()
        await catalog.publish(lock(sid, True, 1))
        await completed(catalog, sid, uuid4(), server_id=uuid4(), t=0)
        # The catalog handles events concurrently: the lock may land after the others; a
        # lost lock times out here.
        snapshot = await catalog.wait_for(sid, lambda s: s["locked"])
        assert (snapshot["status"], snapshot["database"]) == ("completed", "shop")

    async def test_the_status_fold_keeps_the_marks(self, catalog):
        """A status change after locking (here: deleted) leaves the lock and config as they were."""
        sid, config_id = uuid4(), uuid4()
        await completed(catalog, sid, config_id, server_id=uuid4(), t=0)
        await catalog.publish(
            lock(sid, True, 10),
            SnapshotDeleted(snapshot_id=sid, volume_id=VOLUME, occurred_at=at(20)),
        )
        # Both events handled (in either order): a lost lock times out here.
        snapshot = await catalog.wait_for(sid, lambda s: s["status"] == "deleted" and s["locked"])
        assert snapshot["config_id"] == str(config_id)


class TestRetentionCandidates:
    async def test_completed_snapshots_of_a_config_newest_first(self, catalog):
        server, config_id = uuid4(), uuid4()
        old, new, other = uuid4(), uuid4(), uuid4()
        await completed(catalog, old, config_id, server_id=server, t=0)
        await completed(catalog, new, config_id, server_id=server, t=100)
        await completed(catalog, other, uuid4(), server_id=server, t=50)
        running = uuid4()
        await catalog.publish(fired(running, config_id, server_id=server, t=200))
        await catalog.wait_for(running)
        await catalog.publish(lock(old, True, 300))
        await catalog.wait_for(old, lambda s: s["locked"])
        reply = await catalog.ask(RetentionCandidates(config_id=config_id))
        assert reply["ok"]
        assert [s["id"] for s in reply["snapshots"]] == [str(new), str(old)]
        assert [s["locked"] for s in reply["snapshots"]] == [False, True]
        assert all(s["created_at"] for s in reply["snapshots"])

    async def test_by_server_and_database(self, catalog):
        server = uuid4()
        first, second = uuid4(), uuid4()
        await completed(catalog, first, None, server_id=server, t=0)
        await completed(catalog, second, uuid4(), server_id=server, t=10)
        await completed(catalog, uuid4(), None, server_id=uuid4(), t=10)
        reply = await catalog.ask(RetentionCandidates(server_id=server, database="shop"))
        assert [s["id"] for s in reply["snapshots"]] == [str(second), str(first)]

    async def test_a_query_without_scope_is_refused(self, catalog):
        reply = await catalog.ask(
            RetentionCandidates(config_id=uuid4()).model_dump(mode="json")
            | {"config_id": None, "server_id": str(uuid4())}
        )
        assert reply["ok"] is False
        assert "invalid query" in reply["error"]
