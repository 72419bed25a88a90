"""The outbox relay's loop, and how pending requests merge into a snapshot listing."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.api.models import BackupRequest
from services.api.snapshots import merge_pending
from services.api.workers.relay import OutboxRelay


class FakeOutbox:
    """Holds unsent events; `relay` publishes them like the real one, in order."""

    def __init__(self, events):
        self.unsent = list(events)

    async def relay(self, publish, *, limit):
        sent = 0
        for event in list(self.unsent[:limit]):
            try:
                await publish(event)
            except Exception as exc:
                return sent, exc
            self.unsent.remove(event)
            sent += 1
        return sent, None


class TestOutboxRelay:
    async def test_pending_rows_are_published_once_the_broker_is_back(self):
        published, broker_up = [], False

        async def publish(event):
            if not broker_up:
                raise ConnectionError("broker down")
            published.append(event)

        outbox = FakeOutbox(["e1", "e2"])
        relay = OutboxRelay(outbox, publish, interval=0.05)  # type: ignore[arg-type]
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.2)
            assert published == []
            assert outbox.unsent == ["e1", "e2"]
            broker_up = True
            async with asyncio.timeout(2):
                while outbox.unsent:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
        assert published == ["e1", "e2"]

    async def test_a_new_request_wakes_the_relay_before_its_interval(self):
        published = []

        async def publish(event):
            published.append(event)

        outbox = FakeOutbox([])
        relay = OutboxRelay(outbox, publish, interval=30)  # type: ignore[arg-type]
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.05)
            outbox.unsent.append("e1")
            relay.wake()
            async with asyncio.timeout(2):
                while not published:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
        assert published == ["e1"]


def request(minutes_ago: float) -> BackupRequest:
    return BackupRequest(
        id=uuid4(),
        server_id=uuid4(),
        database="shop",
        volume_id=uuid4(),
        compression="gzip",
        requested_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


class TestMergePending:
    def test_requests_unknown_to_the_catalog_are_listed_pending_newest_first(self):
        known, unknown = request(5), request(1)
        recorded = {
            "id": str(known.id), "status": "completed", "server_id": str(known.server_id),
            "server_name": "prod", "database": "shop", "volume_id": str(known.volume_id),
            "compression": "gzip", "created_at": known.requested_at.isoformat(),
            "started_at": None, "finished_at": None, "bytes_dumped": 10, "size": 3,
            "sha256": "00", "path": "p", "error": None,
        }  # fmt: skip
        merged = merge_pending([recorded], [known, unknown], server_names={})
        assert [(s.id, s.status) for s in merged] == [
            (unknown.id, "pending"),
            (known.id, "completed"),
        ]
