"""The catalog on the real broker and PostgreSQL: records, order, duplicates, sweeps, queries."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import aio_pika
import pytest

from shared.events import DumpFailed, SnapshotStatusChanged
from shared.queries import GetSnapshot, ListSnapshots
from tests.support.snapshot_events import (
    destination,
    finished,
    progressed,
    requested,
    started,
    stored,
)

pytestmark = pytest.mark.integration


class TestSnapshotLife:
    async def test_events_move_a_snapshot_from_pending_to_completed(self, catalog):
        sid, attempt, volume = uuid4(), uuid4(), uuid4()
        await catalog.publish(requested(sid, volume))
        pending = await catalog.wait_for(sid)
        assert pending["status"] == "pending"
        assert pending["volume_id"] == str(volume)
        await catalog.publish(started(sid, attempt, 1), progressed(sid, attempt, 2, 4096))
        running = await catalog.wait_for(sid, lambda s: s["bytes_dumped"] == 4096)
        assert running["status"] == "in_progress"
        assert running["started_at"] is not None
        await catalog.publish(
            finished(sid, attempt, 3, 8192), stored(sid, attempt, 4, volume_id=volume)
        )
        # Events are handled concurrently: the stored one may complete it before the dump's
        # totals land, so wait for both.
        done = await catalog.wait_for(
            sid, lambda s: s["status"] == "completed" and s["bytes_dumped"] == 8192
        )
        assert done["size"] == 123
        assert done["sha256"] == "ab" * 32
        assert done["path"] == "prod/shop/x.sql.gz"
        assert done["finished_at"] is not None
        assert done["bytes_dumped"] == 8192
        assert set(done) == {
            "id", "status", "server_id", "server_name", "server_type", "database", "volume_id",
            "compression", "created_at", "started_at", "finished_at", "bytes_dumped", "size",
            "sha256", "path", "error", "delete_error", "progress", "duration_seconds",
            "manifest_path", "manifest", "timeline", "restores", "verified_at", "verify_result",
            "config_id", "locked", "copies", "warnings",
        }  # fmt: skip
        assert done["copies"] == [
            {"volume_id": str(volume), "status": "stored", "path": "prod/shop/x.sql.gz",
             "manifest_path": "prod/shop/x.manifest.json", "size": 123, "error": None}
        ]  # fmt: skip
        assert done["server_type"] == "postgresql"
        assert (done["restores"], done["verified_at"], done["verify_result"]) == ([], None, None)
        assert done["progress"] == {
            "bytes_dumped": 8192, "bytes_compressed": 100, "chunks_staged": 1
        }  # fmt: skip
        kinds = [entry["event_type"] for entry in done["timeline"]]
        assert "DumpProgressed" not in kinds
        for kind in ("BackupRequested", "DumpStarted", "DumpFinished", "BackupStored"):
            assert kind in kinds

    async def test_failure_reason_is_kept(self, catalog):
        sid = uuid4()
        await catalog.publish(requested(sid), DumpFailed(snapshot_id=sid, reason="bad password"))
        failed = await catalog.wait_for(sid, lambda s: s["status"] == "failed")
        assert failed["error"] == "bad password"


class TestOrderAndDuplicates:
    async def test_late_progress_after_completed_changes_nothing(self, catalog):
        sid, attempt = uuid4(), uuid4()
        await catalog.publish(requested(sid), stored(sid, attempt, 9))
        await catalog.wait_for(sid, lambda s: s["status"] == "completed")
        marker = uuid4()
        await catalog.publish(progressed(sid, attempt, 5, 777), requested(marker))
        await catalog.wait_for(marker)  # the late event was handled before it
        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        assert snapshot["status"] == "completed"
        assert snapshot["bytes_dumped"] == 0

    async def test_event_before_backup_requested_is_filled_in_later(self, catalog):
        sid, attempt = uuid4(), uuid4()
        await catalog.publish(progressed(sid, attempt, 2, 50))
        placeholder = await catalog.wait_for(sid)
        assert placeholder["status"] == "in_progress"
        assert placeholder["server_name"] is None
        await catalog.publish(requested(sid))
        filled = await catalog.wait_for(sid, lambda s: s["server_name"] == "prod")
        assert filled["status"] == "in_progress"
        assert filled["bytes_dumped"] == 50

    async def test_a_redelivered_event_is_applied_once(self, catalog):
        sid, attempt = uuid4(), uuid4()
        await catalog.publish(requested(sid), started(sid, attempt, 1))
        first_failure = DumpFailed(snapshot_id=sid, reason="first")
        await catalog.publish(first_failure)
        await catalog.wait_for(sid, lambda s: s["status"] == "failed")
        # The same event id again must be skipped, visible in the timeline count.
        await catalog.publish(first_failure)
        marker = uuid4()
        await catalog.publish(requested(marker))
        await catalog.wait_for(marker)
        snapshot = await catalog.snapshot(sid)
        assert snapshot is not None
        assert snapshot["error"] == "first"


class TestQueries:
    async def test_list_is_newest_first_and_filtered(self, catalog):
        server = uuid4()
        old, new, other = uuid4(), uuid4(), uuid4()
        await catalog.publish(
            requested(old, server_id=server, t=1),
            requested(new, server_id=server, t=2),
            requested(other, t=3),
            DumpFailed(snapshot_id=new, reason="x"),
        )
        await catalog.wait_for(new, lambda s: s["status"] == "failed")
        await catalog.wait_for(old)
        await catalog.wait_for(other)
        listed = await catalog.ask(ListSnapshots(server_id=server))
        assert [s["id"] for s in listed["snapshots"]] == [str(new), str(old)]
        failed = await catalog.ask(ListSnapshots(status="failed"))
        assert [s["id"] for s in failed["snapshots"]] == [str(new)]

    async def test_unknown_snapshot_is_not_found(self, catalog):
        reply = await catalog.ask(GetSnapshot(snapshot_id=uuid4()))
        assert reply == {"ok": False, "error": "not_found"}

    async def test_a_malformed_query_gets_an_error_reply(self, catalog):
        reply = await catalog.ask(
            GetSnapshot(snapshot_id=uuid4()).model_dump(mode="json") | {"snapshot_id": "nope"}
        )
        assert reply["ok"] is False
        assert "snapshot_id" in reply["error"]


class TestSweeper:
    @pytest.fixture
    def catalog_options(self) -> dict[str, Any]:
        return {"progress_timeout": 0.5, "pending_timeout": 60, "sweep_interval": 0.1}

    async def test_a_silent_in_progress_snapshot_fails(self, catalog):
        sid, attempt = uuid4(), uuid4()
        await catalog.publish(requested(sid), started(sid, attempt, 1))
        failed = await catalog.wait_for(sid, lambda s: s["status"] == "failed", timeout=10)
        assert failed["error"] == "no progress for 0.5 s"


class TestSweeperWithCopies:
    @pytest.fixture
    def catalog_options(self) -> dict[str, Any]:
        # Started and stored are folded concurrently; 0.5 s between the two is too short a
        # silence on a loaded machine, where it failed the snapshot before its copy came.
        return {"progress_timeout": 3, "pending_timeout": 60, "sweep_interval": 0.1}

    async def test_a_silent_snapshot_with_a_stored_copy_completes_the_rest_missing(self, catalog):
        """Issue 8: the stored copy stands; the copy that never came is `missing`."""
        sid, attempt, primary, offsite = uuid4(), uuid4(), uuid4(), uuid4()
        now = datetime.now(UTC)  # a request of 2026-01-01 is "not started within 60 s"
        both = requested(sid, primary).model_copy(
            update={"copies": [destination(offsite)], "requested_at": now, "occurred_at": now}
        )
        # The catalog handles events concurrently: the request must be folded first, or the
        # stored copy alone completes the snapshot (a known limit, see the issue 8 note).
        await catalog.publish(both)
        await catalog.wait_for(sid, lambda s: len(s["copies"]) == 2, timeout=10)
        await catalog.publish(started(sid, attempt, 1), stored(sid, attempt, 2, volume_id=primary))
        done = await catalog.wait_for(sid, lambda s: s["status"] == "completed", timeout=20)
        assert done["error"] is None
        assert [(c["volume_id"], c["status"], c["error"]) for c in done["copies"]] == [
            (str(primary), "stored", None),
            (str(offsite), "missing", "timed out: no progress for 3 s"),
        ]


class TestDeadLetters:
    async def test_a_dead_lettered_request_fails_its_snapshot(self, catalog, rabbit_url):
        sid = uuid4()
        await catalog.publish(requested(sid))
        await catalog.wait_for(sid)
        # The dumper's queue gives up on a message it was handed and could never handle.
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(catalog.topology.queue("dumper").name)
            for _ in range(catalog.topology.delivery_limit + 1):
                message = await _get(queue)
                await message.nack(requeue=True)
        failed = await catalog.wait_for(sid, lambda s: s["status"] == "failed")
        limit = catalog.topology.delivery_limit
        expected = f"gave up after {limit + 1} deliveries: dumper could not handle BackupRequested"
        assert failed["error"] == expected


class TestAnnouncements:
    async def test_status_changes_are_published(self, catalog, rabbit_url):
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(catalog.topology.events.name)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, routing_key=SnapshotStatusChanged.routing_key)
            sid = uuid4()
            await catalog.publish(requested(sid), DumpFailed(snapshot_id=sid, reason="x"))
            message = await _get(queue)
            event = SnapshotStatusChanged.model_validate_json(message.body)
            assert event.snapshot_id == sid
            assert event.status in {"pending", "failed"}


async def _get(queue: aio_pika.abc.AbstractQueue, timeout: float = 10) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            message = await queue.get(fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.05)
