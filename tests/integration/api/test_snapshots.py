"""GET /snapshots: answered by the real catalog over the broker, as the pipeline reports."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker

from shared.events import DumpFailed
from shared.messaging import publish_event
from shared.topology import Topology
from tests.integration.api.conftest import register
from tests.support.snapshot_events import progressed, started, stored
from tests.support.waiting import poll_until

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def pipeline(rabbit_url: str, namespace: str) -> AsyncIterator[Any]:
    """Publishes events as the dumper and uploader would."""
    broker = RabbitBroker(rabbit_url)
    async with broker:
        await broker.connect()
        topology = Topology(namespace, 2)

        async def publish(*events: Any) -> None:
            for event in events:
                await publish_event(broker, topology, event)

        yield publish


async def wait_status(api, snapshot_id: str, status: str, timeout: float = 10) -> dict[str, Any]:
    async def current() -> dict[str, Any]:
        response = await api.get(f"/api/v1/snapshots/{snapshot_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return await poll_until(
        current, lambda s: s["status"] == status, timeout=timeout, what=f"{snapshot_id} {status}"
    )


async def request_backup(api) -> tuple[str, str, str]:
    server_id, volume_id = await register(api)
    body = {"server_id": server_id, "database": "shop", "volume_id": volume_id}
    response = await api.post("/api/v1/backups", json=body)
    assert response.status_code == 202
    return response.json()["snapshots"][0]["id"], server_id, volume_id


@pytest.mark.usefixtures("catalog_app")
class TestSnapshotStatus:
    async def test_pending_then_in_progress_then_completed(self, api, rabbit_url, namespace):
        snapshot_id, server_id, volume_id = await request_backup(api)
        pending = await wait_status(api, snapshot_id, "pending")
        assert pending["server_id"] == server_id
        assert pending["server_name"] == "prod"
        assert pending["volume_id"] == volume_id
        assert pending["compression"] == "gzip"
        sid, attempt = UUID(snapshot_id), uuid4()
        async with pipeline(rabbit_url, namespace) as publish:
            await publish(started(sid, attempt, 1), progressed(sid, attempt, 2, 2048))
            running = await wait_status(api, snapshot_id, "in_progress")
            await publish(stored(sid, attempt, 3, volume_id=UUID(volume_id)))
            done = await wait_status(api, snapshot_id, "completed")
        assert running["bytes_dumped"] in {0, 2048}
        assert done["bytes_dumped"] == 2048
        assert (done["size"], done["sha256"], done["path"]) == (
            123,
            "ab" * 32,
            "prod/shop/x.sql.gz",
        )
        assert done["database"] == "shop"
        assert done["error"] is None
        assert [(c["volume_id"], c["status"]) for c in done["copies"]] == [(volume_id, "stored")]

    async def test_failed_snapshot_carries_the_reason(self, api, rabbit_url, namespace):
        snapshot_id, _, _ = await request_backup(api)
        async with pipeline(rabbit_url, namespace) as publish:
            await publish(
                DumpFailed(snapshot_id=UUID(snapshot_id), reason="database shop does not exist")
            )
            failed = await wait_status(api, snapshot_id, "failed")
        assert failed["error"] == "database shop does not exist"

    async def test_list_filters_by_status_and_server(self, api, rabbit_url, namespace):
        snapshot_id, server_id, _ = await request_backup(api)
        await wait_status(api, snapshot_id, "pending")
        async with pipeline(rabbit_url, namespace) as publish:
            await publish(DumpFailed(snapshot_id=UUID(snapshot_id), reason="x"))
            await wait_status(api, snapshot_id, "failed")
        everything = (await api.get("/api/v1/snapshots")).json()
        assert [s["id"] for s in everything["items"]] == [snapshot_id]
        assert everything["next_cursor"] is None
        failed = await api.get(
            "/api/v1/snapshots", params={"status": "failed", "server_id": server_id}
        )
        assert [s["id"] for s in failed.json()["items"]] == [snapshot_id]
        pending = await api.get("/api/v1/snapshots", params={"status": "pending"})
        assert pending.json()["items"] == []
        other = await api.get("/api/v1/snapshots", params={"server_id": str(uuid4())})
        assert other.json()["items"] == []

    async def test_bad_status_filter_is_422(self, api):
        response = await api.get("/api/v1/snapshots", params={"status": "done"})
        assert response.status_code == 422

    async def test_unknown_snapshot_is_404(self, api):
        missing = uuid4()
        response = await api.get(f"/api/v1/snapshots/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"snapshot {missing} does not exist"}


@contextlib.asynccontextmanager
async def lagging_catalog(rabbit_url: str, namespace: str) -> AsyncIterator[None]:
    """A catalog that has recorded nothing yet."""
    broker = RabbitBroker(rabbit_url)

    @broker.subscriber(Topology(namespace, 2).catalog_queries, ack_policy=AckPolicy.ACK)
    async def answer(body: dict[str, Any]) -> dict[str, Any]:
        if body["op"] == "get_snapshot":
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "snapshots": []}

    async with broker:
        await broker.start()
        yield


class TestCatalogLag:
    async def test_a_request_the_catalog_has_not_seen_is_pending(self, api, rabbit_url, namespace):
        async with lagging_catalog(rabbit_url, namespace):
            snapshot_id, server_id, _ = await request_backup(api)
            one = await api.get(f"/api/v1/snapshots/{snapshot_id}")
            listing = await api.get("/api/v1/snapshots")
        assert one.status_code == 200
        assert one.json()["status"] == "pending"
        assert one.json()["server_name"] == "prod"
        assert one.json()["server_id"] == server_id
        assert [s["id"] for s in listing.json()["items"]] == [snapshot_id]


class TestCatalogAway:
    @pytest.fixture
    def api_options(self) -> dict[str, Any]:
        return {"query_timeout": 0.5}

    async def test_no_catalog_answering_is_503(self, api):
        response = await api.get(f"/api/v1/snapshots/{uuid4()}")
        assert response.status_code == 503
        assert response.json() == {"detail": "the catalog did not answer within 0.5 s"}
