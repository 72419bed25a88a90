"""Restores through the real catalog: recorded, listed, shown on the snapshot, and the
conflicts the catalog's records decide; reads passed through with their filters."""

from typing import Any
from uuid import UUID, uuid4

import pytest

from shared.events import RestoreFinished, RestoreStarted, TableDifference
from tests.integration.api.conftest import register
from tests.integration.api.test_snapshots import pipeline, wait_status
from tests.support.snapshot_events import STORED_MANIFEST, stored
from tests.support.waiting import poll_until

pytestmark = pytest.mark.integration


async def wait_restore(api, restore_id: str, ready, timeout: float = 10) -> dict[str, Any]:
    async def current() -> dict[str, Any]:
        response = await api.get(f"/api/v1/restores/{restore_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return await poll_until(current, ready, timeout=timeout, what=f"restore {restore_id} ready")


async def completed_snapshot(api, publish) -> tuple[str, str]:
    """A backup of `shop` through the api, stored as the uploader would report; its ids."""
    server_id, volume_id = await register(api)
    body = {"server_id": server_id, "database": "shop", "volume_id": volume_id}
    snapshot_id = (await api.post("/api/v1/backups", json=body)).json()["snapshots"][0]["id"]
    await wait_status(api, snapshot_id, "pending")  # the catalog has its request
    await publish(
        stored(UUID(snapshot_id), uuid4(), 9, volume_id=UUID(volume_id), manifest=STORED_MANIFEST)
    )
    await wait_status(api, snapshot_id, "completed")
    return snapshot_id, server_id


@pytest.mark.usefixtures("catalog_app")
class TestThroughTheCatalog:
    async def test_a_restore_is_recorded_listed_and_shown_on_its_snapshot(
        self, api, rabbit_url, namespace
    ):
        async with pipeline(rabbit_url, namespace) as publish:
            snapshot_id, server_id = await completed_snapshot(api, publish)
            body = {"snapshot_id": snapshot_id, "server_id": server_id, "database": "shop_copy"}
            accepted = await api.post("/api/v1/restores", json=body)
            assert accepted.status_code == 202, accepted.text
            rid = accepted.json()["id"]
            recorded = await wait_restore(api, rid, lambda r: r["server_id"] == server_id)
            assert recorded["status"] == "pending"
            again = await api.post("/api/v1/restores", json=body)
            assert again.status_code == 409
            assert f"restore {rid} is already writing" in again.json()["detail"]
            await publish(
                RestoreStarted(
                    snapshot_id=snapshot_id,
                    restore_id=rid,
                    attempt_id=uuid4(),
                    tool="psql",
                    tool_version="psql 15",
                    created_database=True,
                ),
                RestoreFinished(
                    snapshot_id=snapshot_id, restore_id=rid, mode="restore", bytes_restored=42
                ),
            )
            # The catalog folds events concurrently: the start may land after the outcome.
            done = await wait_restore(
                api, rid, lambda r: r["status"] == "completed" and r["created_database"] is not None
            )
            assert (done["bytes_restored"], done["created_database"]) == (42, True)
            listed = await api.get("/api/v1/restores", params={"snapshot_id": snapshot_id})
            assert [item["id"] for item in listed.json()["items"]] == [rid]
            assert listed.json()["next_cursor"] is None
            detail = (await api.get(f"/api/v1/snapshots/{snapshot_id}")).json()
            assert [r["id"] for r in detail["restores"]] == [rid]
            assert detail["server_type"] == "postgresql"
            # Ended: the same target is free again.
            assert (await api.post("/api/v1/restores", json=body)).status_code == 202

    async def test_a_running_backup_of_the_target_refuses_a_restore_into_it(
        self, api, rabbit_url, namespace
    ):
        async with pipeline(rabbit_url, namespace) as publish:
            snapshot_id, server_id = await completed_snapshot(api, publish)
            volume_id = (await api.get(f"/api/v1/snapshots/{snapshot_id}")).json()["volume_id"]
            backup = {"server_id": server_id, "database": "crm", "volume_id": volume_id}
            running = (await api.post("/api/v1/backups", json=backup)).json()["snapshots"][0]["id"]
            body = {
                "snapshot_id": snapshot_id,
                "server_id": server_id,
                "database": "crm",
                "overwrite": True,
            }
            response = await api.post("/api/v1/restores", json=body)
            assert response.status_code == 409
            assert f"is being backed up (snapshot {running})" in response.json()["detail"]

    async def test_a_verify_result_shows_on_the_snapshot(self, api, rabbit_url, namespace):
        async with pipeline(rabbit_url, namespace) as publish:
            snapshot_id, server_id = await completed_snapshot(api, publish)
            accepted = await api.post(
                f"/api/v1/snapshots/{snapshot_id}/verify", json={"server_id": server_id}
            )
            assert accepted.status_code == 202, accepted.text
            rid = accepted.json()["id"]
            difference = TableDifference(table="public.orders", expected=12, actual=11)
            await publish(
                RestoreFinished(
                    snapshot_id=snapshot_id,
                    restore_id=rid,
                    mode="verify",
                    bytes_restored=42,
                    verify_ok=False,
                    table_differences=[difference],
                )
            )
            done = await wait_restore(api, rid, lambda r: r["status"] == "completed")
            assert done["mode"] == "verify"
            assert done["table_differences"] == [difference.model_dump()]
            detail = (await api.get(f"/api/v1/snapshots/{snapshot_id}")).json()
            assert detail["verified_at"] is not None
            assert detail["verify_result"] == {"ok": False, "tables": [difference.model_dump()]}


class TestReads:
    async def test_a_restore_is_passed_through_and_an_unknown_one_is_404(self, api, fake_catalog):
        rid, sid = str(uuid4()), str(uuid4())
        record = {
            "id": rid,
            "snapshot_id": sid,
            "mode": "restore",
            "server_id": str(uuid4()),
            "database": "d",
            "overwrite": False,
            "status": "failed",
            "bytes_restored": 5,
            "bytes_read": 2,
            "chunks_verified": 1,
            "created_at": "2026-01-01T00:00:00+00:00",
            "started_at": None,
            "finished_at": "2026-01-01T00:00:03+00:00",
            "error": "artifact corrupt at chunk 1",
            "created_database": True,
            "target_dropped": True,
            "verify_ok": None,
            "table_differences": [],
        }
        fake_catalog.replies["get_restore"] = {"ok": True, "restore": record}
        response = await api.get(f"/api/v1/restores/{rid}")
        assert response.status_code == 200
        assert response.json()["error"] == "artifact corrupt at chunk 1"
        assert response.json()["target_dropped"] is True
        fake_catalog.replies["get_restore"] = {"ok": False, "error": "not_found"}
        missing = await api.get(f"/api/v1/restores/{rid}")
        assert missing.status_code == 404
        assert missing.json() == {"detail": f"restore {rid} does not exist"}

    async def test_list_filters_and_cursor_go_to_the_catalog(self, api, fake_catalog):
        fake_catalog.replies["list_restores"] = {"ok": True, "restores": [], "next_cursor": "n"}
        sid = str(uuid4())
        params = {"snapshot_id": sid, "status": "failed", "limit": 5, "cursor": "c"}
        response = await api.get("/api/v1/restores", params=params)
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": "n"}
        asked = fake_catalog.asked[-1]
        assert {k: asked[k] for k in ("op", "snapshot_id", "status", "limit", "cursor")} == {
            "op": "list_restores",
            "snapshot_id": sid,
            "status": "failed",
            "limit": 5,
            "cursor": "c",
        }
        assert (await api.get("/api/v1/restores", params={"status": "odd"})).status_code == 422
        fake_catalog.replies["list_restores"] = {"ok": False, "error": "invalid query: cursor"}
        refused = await api.get("/api/v1/restores", params={"cursor": "bad"})
        assert refused.status_code == 422

    async def test_a_snapshot_or_server_a_restore_uses_is_not_deleted(self, api, fake_catalog):
        server_id, volume_id = await register(api)
        sid, rid = str(uuid4()), str(uuid4())
        running = {"id": rid, "snapshot_id": sid, "mode": "restore", "server_id": server_id}
        running |= {"database": "d", "status": "in_progress", "created_at": "2026-01-01T00:00:00Z"}
        snapshot = {
            "id": sid,
            "status": "completed",
            "server_id": server_id,
            "server_name": "prod",
            "database": "shop",
            "volume_id": volume_id,
            "compression": "gzip",
            "created_at": "2026-01-01T00:00:00+00:00",
            "started_at": None,
            "finished_at": None,
            "bytes_dumped": 1,
            "size": 1,
            "sha256": None,
            "path": "p.sql.gz",
            "error": None,
            "restores": [running],
        }
        fake_catalog.replies["get_snapshot"] = {"ok": True, "snapshot": snapshot}
        deleted = await api.delete(f"/api/v1/snapshots/{sid}")
        assert deleted.status_code == 409
        assert deleted.json()["detail"] == (
            f"snapshot {sid} is being restored (restore {rid}); wait for the restore to finish "
            "before deleting it"
        )
        fake_catalog.replies["server_activity"] = {
            "ok": True,
            "in_progress": 0,
            "snapshots": 0,
            "restores": 1,
        }
        gone = await api.delete(f"/api/v1/servers/{server_id}")
        assert gone.status_code == 409
        assert "1 restore(s) pending or in progress" in gone.json()["detail"]
