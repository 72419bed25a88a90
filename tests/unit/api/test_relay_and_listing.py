"""The outbox relay's loop, and how pending requests merge into a snapshot listing."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.api.models import BackupRequest
from services.api.snapshots import merge_pending
from services.api.usecases.snapshots import list_snapshots
from services.api.workers.relay import OutboxRelay
from shared.queries.cursors import encode_position


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
        merged = merge_pending([recorded_row(known)], [known, unknown], server_names={})
        assert [(s.id, s.status) for s in merged] == [
            (unknown.id, "pending"),
            (known.id, "completed"),
        ]


def recorded_row(req: BackupRequest) -> dict:
    return {
        "id": str(req.id), "status": "completed", "server_id": str(req.server_id),
        "server_name": "prod", "database": "shop", "volume_id": str(req.volume_id),
        "compression": "gzip", "created_at": req.requested_at.isoformat(),
        "started_at": None, "finished_at": None, "bytes_dumped": 10, "size": 3,
        "sha256": "00", "path": "p", "error": None,
    }  # fmt: skip


class FakeCatalog:
    """Answers list_snapshots with the newest `limit` of its rows, like the catalog."""

    def __init__(self, rows: list[BackupRequest]) -> None:
        self.rows = sorted(rows, key=lambda r: (r.requested_at, str(r.id)), reverse=True)

    async def ask_catalog(self, body, *, wait=None):  # noqa: ARG002
        page = self.rows[: body["limit"]]
        more = len(self.rows) > body["limit"]
        return {
            "ok": True,
            "snapshots": [recorded_row(r) for r in page],
            "next_cursor": "catalog-cursor" if more else None,
        }


class FakeRequests:
    def __init__(self, rows: list[BackupRequest]) -> None:
        self.rows = sorted(rows, key=lambda r: (r.requested_at, str(r.id)), reverse=True)

    async def since(self, when, *, server_id, limit=None):  # noqa: ARG002
        return [r for r in self.rows if r.requested_at >= when][:limit]


class FakeServers:
    async def list(self):
        return []


class TestFirstPageWithPendingRequests:
    async def listing(self, recorded, accepted, limit):
        return await list_snapshots(
            link=FakeCatalog(recorded),  # type: ignore[arg-type]
            requests=FakeRequests(accepted),  # type: ignore[arg-type]
            servers=FakeServers(),  # type: ignore[arg-type]
            limit=limit,
        )

    async def test_a_burst_of_unrecorded_requests_fills_one_page_and_no_more(self):
        recorded = [request(10 + n) for n in range(60)]
        burst = [request(n / 100) for n in range(300)]
        page = await self.listing(recorded, recorded + burst, limit=50)
        assert len(page.items) == 50
        assert {s.status for s in page.items} == {"pending"}
        last = page.items[-1]
        # The next page starts after the last row shown: no recorded row is skipped.
        assert page.next_cursor == encode_position("-created_at", last.created_at, last.id)

    async def test_recorded_rows_pushed_off_the_page_start_the_next_one(self):
        recorded = [request(10 + n) for n in range(50)]
        newer = [request(n) for n in range(5)]
        page = await self.listing(recorded, recorded + newer, limit=50)
        assert [s.id for s in page.items[:5]] == [r.id for r in newer]
        assert len(page.items) == 50
        last = page.items[-1]
        assert last.id == recorded[44].id
        assert page.next_cursor == encode_position("-created_at", last.created_at, last.id)

    async def test_the_catalog_cursor_stays_when_every_recorded_row_is_shown(self):
        recorded = [request(10 + n) for n in range(80)]
        page = await self.listing(recorded, recorded, limit=50)
        assert len(page.items) == 50
        assert page.next_cursor == "catalog-cursor"
