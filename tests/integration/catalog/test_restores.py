"""Restore records on the real broker and PostgreSQL: life, order, duplicates, verify results
on the snapshot, queries, the sweeper and dead letters."""

import asyncio
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import asyncpg
import pytest

from services.catalog.restores.adapters import db as restores_db
from shared.events import RestoreRequested, utc_now
from shared.queries import GetRestore, ListRestores, ServerActivity, TargetActivity
from tests.support.snapshot_events import requested as backup_requested
from tests.support.snapshot_events import started as dump_started
from tests.support.snapshot_events import stored
from tests.support.waiting import polled_message
from tests.unit.catalog.test_restores import failed, finished, progressed, started
from tests.unit.catalog.test_restores import requested as requested_at_t0

pytestmark = pytest.mark.integration


def requested(rid: UUID, sid: UUID, **options: Any) -> RestoreRequested:
    """A request accepted just now: the sweeper must not take it for one never started."""
    event = requested_at_t0(rid, sid, **options)
    return event.model_copy(update={"requested_at": utc_now()})


async def restore(catalog, rid: UUID, ready=lambda _: True, timeout: float = 10) -> dict[str, Any]:
    """The restore once the catalog knows it and `ready` holds for it."""
    async with asyncio.timeout(timeout):
        while True:
            reply = await catalog.ask(GetRestore(restore_id=rid))
            if reply["ok"] and ready(reply["restore"]):
                return reply["restore"]
            await asyncio.sleep(0.05)


async def completed_snapshot(catalog) -> UUID:
    sid, attempt = uuid4(), uuid4()
    # Requested just now: a request of long ago is failed by the sweeper as never started
    # when it sweeps between the two events.
    request = backup_requested(sid).model_copy(update={"requested_at": utc_now()})
    await catalog.publish(request, stored(sid, attempt, 9))
    await catalog.wait_for(sid, lambda s: s["status"] == "completed")
    return sid


class TestRestoreLife:
    async def test_events_move_a_restore_from_pending_to_completed(self, catalog):
        sid = await completed_snapshot(catalog)
        rid = uuid4()
        await catalog.publish(requested(rid, sid))
        pending = await restore(catalog, rid)
        assert pending["status"] == "pending"
        assert (pending["snapshot_id"], pending["mode"], pending["database"]) == (
            str(sid),
            "restore",
            "shop_copy",
        )
        await catalog.publish(started(rid, sid, uuid4(), 1), progressed(rid, sid, 2, 4000))
        # Both folded: the broker may hand the progress over before the start.
        running = await restore(
            catalog,
            rid,
            lambda r: r["bytes_restored"] == 4000 and r["created_database"] is not None,
        )
        assert running["status"] == "in_progress"
        assert (running["bytes_read"], running["chunks_verified"]) == (1000, 40)
        assert running["created_database"] is True
        await catalog.publish(finished(rid, sid, 5))
        done = await restore(catalog, rid, lambda r: r["status"] == "completed")
        assert done["bytes_restored"] == 9000
        assert done["finished_at"] is not None
        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        assert snapshot["status"] == "completed"  # a restore never moves its snapshot
        assert [r["id"] for r in snapshot["restores"]] == [str(rid)]
        assert snapshot["restores"][0]["status"] == "completed"
        assert snapshot["verified_at"] is None  # a restore is not a verify
        kinds = [entry["event_type"] for entry in snapshot["timeline"]]
        assert "RestoreFinished" in kinds
        assert "RestoreProgressed" not in kinds

    async def test_a_failure_keeps_its_reason(self, catalog):
        rid, sid = uuid4(), uuid4()
        await catalog.publish(requested(rid, sid), failed(rid, sid, 2, "manifest missing: x"))
        record = await restore(catalog, rid, lambda r: r["status"] == "failed")
        assert record["error"] == "manifest missing: x"
        assert record["target_dropped"] is True


class TestOrderAndDuplicates:
    async def test_late_progress_after_completed_changes_nothing(self, catalog):
        rid, sid = uuid4(), uuid4()
        await catalog.publish(requested(rid, sid), finished(rid, sid, 5))
        await restore(catalog, rid, lambda r: r["status"] == "completed")
        marker = uuid4()
        await catalog.publish(progressed(rid, sid, 4, 77), requested(marker, sid))
        await restore(catalog, marker)  # handled after the late progress
        record = await restore(catalog, rid)
        assert (record["status"], record["bytes_restored"]) == ("completed", 9000)

    async def test_events_before_the_request_are_filled_in_later(self, catalog):
        rid, sid = uuid4(), uuid4()
        await catalog.publish(progressed(rid, sid, 2, 50))
        placeholder = await restore(catalog, rid)
        assert (placeholder["status"], placeholder["database"]) == ("in_progress", None)
        await catalog.publish(requested(rid, sid))
        filled = await restore(catalog, rid, lambda r: r["database"] == "shop_copy")
        assert (filled["status"], filled["bytes_restored"]) == ("in_progress", 50)

    async def test_a_redelivered_event_is_applied_once(self, catalog):
        rid, sid = uuid4(), await completed_snapshot(catalog)
        first = failed(rid, sid, 3, "first")
        await catalog.publish(requested(rid, sid), first)
        await restore(catalog, rid, lambda r: r["status"] == "failed")
        await catalog.publish(first)
        marker = uuid4()
        await catalog.publish(requested(marker, sid))
        await restore(catalog, marker)
        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        kinds = [entry["event_type"] for entry in snapshot["timeline"]]
        assert kinds.count("RestoreFailed") == 1


class TestVerifyResults:
    async def test_a_passing_verify_lands_on_the_snapshot(self, catalog):
        sid = await completed_snapshot(catalog)
        rid = uuid4()
        await catalog.publish(
            requested(rid, sid, mode="verify"), finished(rid, sid, 5, mode="verify")
        )
        snapshot = await catalog.wait_for(sid, lambda s: s["verified_at"] is not None)
        assert snapshot["verify_result"] == {"ok": True}
        assert snapshot["restores"][0]["verify_ok"] is True

    async def test_differences_and_failures_land_on_the_snapshot_newest_wins(self, catalog):
        sid = await completed_snapshot(catalog)
        bad, broken, old = uuid4(), uuid4(), uuid4()
        await catalog.publish(
            requested(bad, sid, mode="verify"), finished(bad, sid, 20, mode="verify", differences=1)
        )
        snapshot = await catalog.wait_for(sid, lambda s: s["verified_at"] is not None)
        assert snapshot["verify_result"] == {
            "ok": False,
            "tables": [{"table": "public.t0", "expected": 3, "actual": 2}],
        }
        # An older verify ending late does not replace the newer result.
        await catalog.publish(
            requested(old, sid, mode="verify"), finished(old, sid, 10, mode="verify")
        )
        await restore(catalog, old, lambda r: r["status"] == "completed")
        snapshot = await catalog.snapshot(sid)
        assert snapshot["verify_result"]["ok"] is False  # type: ignore[index]
        verify_failed = failed(broken, sid, 30, "psql 15 cannot restore a dump made by pg_dump 16")
        verify_failed = verify_failed.model_copy(update={"mode": "verify"})
        await catalog.publish(requested(broken, sid, mode="verify"), verify_failed)
        snapshot = await catalog.wait_for(sid, lambda s: "error" in (s["verify_result"] or {}))
        assert snapshot["verify_result"] == {
            "ok": False,
            "error": "psql 15 cannot restore a dump made by pg_dump 16",
        }
        assert {r["id"] for r in snapshot["restores"]} == {str(broken), str(old), str(bad)}


class TestQueries:
    async def test_list_filters_by_snapshot_and_status_and_pages(self, catalog):
        sid, other = uuid4(), uuid4()
        rids = [uuid4() for _ in range(3)]
        for rid in rids:  # one after the other: their creation times are in this order
            await catalog.publish(requested(rid, sid))
            await restore(catalog, rid)
        await catalog.publish(requested(uuid4(), other), failed(rids[0], sid, 9))
        await restore(catalog, rids[0], lambda r: r["status"] == "failed")
        await restore(catalog, rids[2])
        first = await catalog.ask(ListRestores(snapshot_id=sid, limit=2))
        assert [r["id"] for r in first["restores"]] == [str(rids[2]), str(rids[1])]
        assert first["next_cursor"] is not None
        rest = await catalog.ask(ListRestores(snapshot_id=sid, cursor=first["next_cursor"]))
        assert [r["id"] for r in rest["restores"]] == [str(rids[0])]
        assert rest["next_cursor"] is None
        failed_ones = await catalog.ask(ListRestores(snapshot_id=sid, status="failed"))
        assert [r["id"] for r in failed_ones["restores"]] == [str(rids[0])]

    async def test_target_activity_names_running_backups_and_restores(self, catalog):
        server = uuid4()
        running = uuid4()
        await catalog.publish(
            backup_requested(running, server_id=server), dump_started(running, uuid4(), 1)
        )
        await catalog.wait_for(running, lambda s: s["status"] == "in_progress")
        rid = uuid4()
        event = requested(rid, uuid4()).model_copy(update={"server_id": server, "database": "shop"})
        await catalog.publish(event)
        await restore(catalog, rid)
        unrecorded_backup, unrecorded_restore = uuid4(), uuid4()
        reply = await catalog.ask(
            TargetActivity(
                server_id=server,
                database="shop",
                requested=[running, unrecorded_backup],
                requested_restores=[rid, unrecorded_restore],
            )
        )
        assert reply == {
            "ok": True,
            "backups": [str(running), str(unrecorded_backup)],
            "restores": [str(rid), str(unrecorded_restore)],
        }
        elsewhere = await catalog.ask(TargetActivity(server_id=server, database="crm"))
        assert elsewhere == {"ok": True, "backups": [], "restores": []}
        activity = await catalog.ask(ServerActivity(server_id=server))
        assert activity["restores"] == 1

    async def test_a_backup_recorded_while_the_question_is_answered_still_counts(
        self, catalog, pg_database, monkeypatch
    ):
        """Its request is committed between the "running?" and the "known?" reads: the answer
        is one snapshot of the records, so the backup is named (it was in neither read)."""
        server, sid = uuid4(), uuid4()
        running_backups = restores_db.running_backups

        async def then_the_request_is_recorded(conn, *args):
            found = await running_backups(conn, *args)
            await catalog.publish(backup_requested(sid, server_id=server))
            await recorded(pg_database, sid)
            return found

        monkeypatch.setattr(restores_db, "running_backups", then_the_request_is_recorded)
        reply = await catalog.ask(
            TargetActivity(server_id=server, database="shop", requested=[sid])
        )
        assert reply == {"ok": True, "backups": [str(sid)], "restores": []}

    async def test_an_unknown_restore_is_not_found(self, catalog):
        reply = await catalog.ask(GetRestore(restore_id=uuid4()))
        assert reply == {"ok": False, "error": "not_found"}


class TestSweeper:
    @pytest.fixture
    def catalog_options(self) -> dict[str, Any]:
        return {"progress_timeout": 0.5, "pending_timeout": 60, "sweep_interval": 0.1}

    async def test_a_silent_verify_fails_and_its_snapshot_says_so(self, catalog):
        sid = await completed_snapshot(catalog)
        rid = uuid4()
        await catalog.publish(requested(rid, sid, mode="verify"), started(rid, sid, uuid4(), 1))
        record = await restore(catalog, rid, lambda r: r["status"] == "failed")
        assert record["error"] == "no progress for 0.5 s"
        snapshot = await catalog.wait_for(sid, lambda s: s["verify_result"] is not None)
        assert snapshot["verify_result"] == {"ok": False, "error": "no progress for 0.5 s"}
        assert snapshot["status"] == "completed"


class TestDeadLetters:
    async def test_a_dead_lettered_restore_request_fails_the_restore_not_the_snapshot(
        self, catalog, rabbit_url
    ):
        sid = await completed_snapshot(catalog)
        rid = uuid4()
        await catalog.publish(requested(rid, sid))
        await restore(catalog, rid)
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(catalog.topology.queue("dumper").name)
            nacked = 0
            while nacked <= catalog.topology.delivery_limit:
                message = await polled_message(queue)
                if message.routing_key != RestoreRequested.routing_key:
                    await message.ack()  # the snapshot's own BackupRequested
                    continue
                await message.nack(requeue=True)
                nacked += 1
        record = await restore(catalog, rid, lambda r: r["status"] == "failed")
        limit = catalog.topology.delivery_limit
        assert record["error"] == (
            f"gave up after {limit + 1} deliveries: dumper could not handle RestoreRequested"
        )
        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        assert snapshot["status"] == "completed"


async def recorded(database_url: str, snapshot_id: UUID, timeout: float = 10) -> None:
    """Once the catalog has committed the snapshot's request."""
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(timeout):
            query = "SELECT requested FROM catalog.snapshots WHERE id = $1"
            while not await conn.fetchval(query, snapshot_id):
                await asyncio.sleep(0.05)
    finally:
        await conn.close()
