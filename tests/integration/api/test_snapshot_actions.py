"""Snapshots: list filters and pages, detail, download, delete and cancel through the outbox."""

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from shared.events import SnapshotCancelRequested, SnapshotDeleteRequested
from shared.naming import manifest_key
from shared.queries import ListSnapshots
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from tests.integration.api.conftest import register

pytestmark = pytest.mark.integration

KEY = "prod/shop/20260101T000000Z_x.sql.gz"


def snapshot(volume_id: str, **changes: Any) -> dict[str, Any]:
    """A snapshot as the catalog answers get_snapshot."""
    return {
        "id": str(uuid4()),
        "status": "completed",
        "server_id": str(uuid4()),
        "server_name": "prod",
        "database": "shop",
        "volume_id": volume_id,
        "compression": "gzip",
        "created_at": "2026-01-01T00:00:00+00:00",
        "started_at": "2026-01-01T00:00:01+00:00",
        "finished_at": "2026-01-01T00:00:04+00:00",
        "bytes_dumped": 100,
        "size": 11,
        "sha256": "ab" * 32,
        "path": KEY,
        "error": None,
    } | changes


def stored(data: bytes, *, chunk: int = 4) -> dict[str, Any]:
    """What the catalog records of an artifact holding `data`: size, sha256 and manifest."""
    chunks = [
        {
            "seq": seq,
            "offset": offset,
            "size": len(data[offset : offset + chunk]),
            "sha256": hashlib.sha256(data[offset : offset + chunk]).hexdigest(),
        }
        for seq, offset in enumerate(range(0, len(data), chunk))
    ]
    sha256 = hashlib.sha256(data).hexdigest()
    manifest = {"compression": "gzip", "size": len(data), "sha256": sha256, "chunks": chunks}
    return {"size": len(data), "sha256": sha256, "manifest": manifest}


def lay_out(root: Path, data: bytes, record: dict[str, Any]) -> None:
    """The artifact and its manifest on a local volume, as the uploader writes them."""
    (root / KEY).parent.mkdir(parents=True, exist_ok=True)
    (root / KEY).write_bytes(data)
    (root / manifest_key(KEY)).write_text(json.dumps(record["manifest"]))


def answer(fake_catalog, found: dict[str, Any] | None) -> None:
    fake_catalog.replies["get_snapshot"] = (
        {"ok": True, "snapshot": found} if found else {"ok": False, "error": "not_found"}
    )


class TestList:
    async def test_filters_sort_and_cursor_are_passed_to_the_catalog(self, api, fake_catalog):
        item = snapshot(str(uuid4()))
        fake_catalog.replies["list_snapshots"] = {
            "ok": True,
            "snapshots": [item],
            "next_cursor": "abc",
        }
        server_id, volume_id = str(uuid4()), str(uuid4())
        params = {
            "server_id": server_id,
            "database": "shop",
            "volume_id": volume_id,
            "status": "completed",
            "created_from": "2026-01-01T00:00:00Z",
            "created_to": "2026-02-01T00:00:00",
            "sort": "-size",
            "limit": 10,
            "cursor": "xyz",
        }
        response = await api.get("/api/v1/snapshots", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] == "abc"
        assert [s["id"] for s in response.json()["items"]] == [item["id"]]
        assert ListSnapshots.model_validate(fake_catalog.asked[-1]) == ListSnapshots(
            server_id=server_id,
            database="shop",
            volume_id=volume_id,
            status="completed",
            sort="-size",
            limit=10,
            cursor="xyz",
            created_from=datetime(2026, 1, 1, tzinfo=UTC),
            created_to=datetime(2026, 2, 1, tzinfo=UTC),
        )

    async def test_defaults_are_newest_first_fifty(self, api, fake_catalog):
        fake_catalog.replies["list_snapshots"] = {"ok": True, "snapshots": [], "next_cursor": None}
        response = await api.get("/api/v1/snapshots")
        assert response.json() == {"items": [], "next_cursor": None}
        asked = fake_catalog.asked[-1]
        assert (asked["sort"], asked["limit"], asked["cursor"]) == ("-created_at", 50, None)

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 501}, {"sort": "name"}, {"status": "done"}, {"server_id": "x"}],
    )
    async def test_invalid_parameters_are_422(self, api, params):
        response = await api.get("/api/v1/snapshots", params=params)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: ")

    async def test_a_cursor_the_catalog_refuses_is_422(self, api, fake_catalog):
        fake_catalog.replies["list_snapshots"] = {
            "ok": False,
            "error": "invalid query: cursor (the cursor is malformed)",
        }
        response = await api.get("/api/v1/snapshots", params={"cursor": "bogus"})
        assert response.status_code == 422
        assert "cursor" in response.json()["detail"]

    async def test_pending_requests_merge_only_into_the_first_unfiltered_page(
        self, api, fake_catalog
    ):
        fake_catalog.replies["list_snapshots"] = {"ok": True, "snapshots": [], "next_cursor": None}
        answer(fake_catalog, None)
        server_id, volume_id = await register(api)
        body = {"server_id": server_id, "database": "shop", "volume_id": volume_id}
        accepted = (await api.post("/api/v1/backups", json=body)).json()["snapshots"][0]
        first = (await api.get("/api/v1/snapshots")).json()["items"]
        assert [s["id"] for s in first] == [accepted["id"]]
        for params in ({"cursor": "next"}, {"database": "shop"}, {"sort": "size"}):
            assert (await api.get("/api/v1/snapshots", params=params)).json()["items"] == []


class TestDetail:
    async def test_manifest_timeline_progress_and_duration_pass_through(self, api, fake_catalog):
        detail = snapshot(str(uuid4())) | {
            "progress": {"bytes_dumped": 100, "bytes_compressed": 11, "chunks_staged": 1},
            "duration_seconds": 3.0,
            "manifest_path": "prod/shop/x.manifest.json",
            "manifest": {"format": 1, "chunks": []},
            "timeline": [
                {
                    "event_type": "BackupRequested",
                    "occurred_at": "2026-01-01T00:00:00+00:00",
                    "summary": "backup of shop on prod requested",
                }
            ],
        }
        answer(fake_catalog, detail)
        response = await api.get(f"/api/v1/snapshots/{detail['id']}")
        assert response.status_code == 200
        body = response.json()
        assert body["manifest"] == {"format": 1, "chunks": []}
        assert body["duration_seconds"] == 3.0
        assert body["progress"]["chunks_staged"] == 1
        assert body["timeline"][0]["summary"] == "backup of shop on prod requested"


class TestDelete:
    async def test_a_completed_snapshot_is_deleted_through_the_outbox(
        self, api, fake_catalog, snapshot_requests
    ):
        _, volume_id = await register(api)
        found = snapshot(volume_id)
        answer(fake_catalog, found)
        response = await api.delete(f"/api/v1/snapshots/{found['id']}")
        assert response.status_code == 202
        assert response.json() == {"id": found["id"], "status": "deleting"}
        event = SnapshotDeleteRequested.model_validate_json((await snapshot_requests()).body)
        assert str(event.snapshot_id) == found["id"]
        assert str(event.volume_id) == volume_id
        assert event.path == KEY
        assert event.manifest_path == "prod/shop/20260101T000000Z_x.manifest.json"
        volume = Sealer(SecretStr(DEV_SEAL_KEY)).unseal(event.volume)
        assert volume == {"type": "local", "config": {"path": "/srv/backups"}}

    @pytest.mark.parametrize("status", ["pending", "in_progress", "deleted"])
    async def test_a_running_or_deleted_snapshot_is_409(self, api, fake_catalog, status):
        _, volume_id = await register(api)
        found = snapshot(volume_id, status=status)
        answer(fake_catalog, found)
        response = await api.delete(f"/api/v1/snapshots/{found['id']}")
        assert response.status_code == 409
        assert response.json()["detail"].startswith(f"snapshot {found['id']} is ")

    async def test_unknown_snapshot_is_404(self, api, fake_catalog):
        answer(fake_catalog, None)
        missing = uuid4()
        response = await api.delete(f"/api/v1/snapshots/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"snapshot {missing} does not exist"}


class TestCancel:
    async def test_a_running_snapshot_is_cancelled_through_the_outbox(
        self, api, fake_catalog, snapshot_requests
    ):
        found = snapshot(str(uuid4()), status="in_progress")
        answer(fake_catalog, found)
        response = await api.post(f"/api/v1/snapshots/{found['id']}/cancel")
        assert response.status_code == 202
        assert response.json() == {"id": found["id"], "status": "cancelling"}
        event = SnapshotCancelRequested.model_validate_json((await snapshot_requests()).body)
        assert str(event.snapshot_id) == found["id"]
        assert event.reason == "cancelled"

    async def test_a_request_the_catalog_has_not_seen_can_be_cancelled(
        self, api, fake_catalog, snapshot_requests
    ):
        answer(fake_catalog, None)
        server_id, volume_id = await register(api)
        body = {"server_id": server_id, "database": "shop", "volume_id": volume_id}
        accepted = (await api.post("/api/v1/backups", json=body)).json()["snapshots"][0]
        response = await api.post(f"/api/v1/snapshots/{accepted['id']}/cancel")
        assert response.status_code == 202
        event = SnapshotCancelRequested.model_validate_json((await snapshot_requests()).body)
        assert str(event.snapshot_id) == accepted["id"]

    @pytest.mark.parametrize("status", ["completed", "failed", "deleted"])
    async def test_a_finished_snapshot_is_409(self, api, fake_catalog, status):
        found = snapshot(str(uuid4()), status=status)
        answer(fake_catalog, found)
        response = await api.post(f"/api/v1/snapshots/{found['id']}/cancel")
        assert response.status_code == 409
        assert response.json() == {
            "detail": f"snapshot {found['id']} is {status}; nothing to cancel"
        }

    async def test_unknown_snapshot_is_404(self, api, fake_catalog):
        answer(fake_catalog, None)
        assert (await api.post(f"/api/v1/snapshots/{uuid4()}/cancel")).status_code == 404


class TestDownload:
    async def test_a_local_artifact_is_streamed_as_an_attachment(
        self, api, fake_catalog, tmp_path: Path
    ):
        record = stored(b"dump-bytes!")
        lay_out(tmp_path, b"dump-bytes!", record)
        volume = await api.post(
            "/api/v1/volumes",
            json={"name": "here", "type": "local", "config": {"path": str(tmp_path)}},
        )
        found = snapshot(volume.json()["id"], **record)
        answer(fake_catalog, found)
        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")
        assert response.status_code == 200
        assert response.content == b"dump-bytes!"
        assert response.headers["x-databasement-sha256"] == record["sha256"]
        assert response.headers["content-disposition"] == (
            'attachment; filename="20260101T000000Z_x.sql.gz"'
        )

    async def test_an_s3_artifact_is_a_307_to_a_working_presigned_url(
        self, api, fake_catalog, s3_server, s3_bucket
    ):
        client = s3_server.client()
        client.put_object(s3_bucket, f"db/{KEY}", io.BytesIO(b"s3-dump"), 7)
        record = stored(b"s3-dump")
        manifest = json.dumps(record["manifest"]).encode()
        client.put_object(s3_bucket, f"db/{manifest_key(KEY)}", io.BytesIO(manifest), len(manifest))
        config = {
            "endpoint": s3_server.endpoint,
            "bucket": s3_bucket,
            "prefix": "db",
            "region": "us-east-1",
            "access_key": s3_server.admin.access_key,
            "secret_key": s3_server.admin.secret_key,
            "secure": False,
        }
        volume = await api.post(
            "/api/v1/volumes", json={"name": "s3", "type": "s3", "config": config}
        )
        assert volume.status_code == 201, volume.text
        found = snapshot(volume.json()["id"], **record)
        answer(fake_catalog, found)
        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")
        assert response.status_code == 307
        assert response.headers["x-databasement-sha256"] == record["sha256"]
        url = response.headers["location"]
        assert s3_server.admin.secret_key not in url
        async with httpx.AsyncClient() as plain:
            fetched = await plain.get(url)
        assert fetched.status_code == 200
        assert fetched.content == b"s3-dump"

    async def test_an_unfinished_snapshot_is_409(self, api, fake_catalog):
        _, volume_id = await register(api)
        found = snapshot(volume_id, status="in_progress", path=None)
        answer(fake_catalog, found)
        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")
        assert response.status_code == 409
        assert response.json() == {
            "detail": f"snapshot {found['id']} is in_progress; nothing to download"
        }

    async def test_a_missing_local_file_is_404(self, api, fake_catalog, tmp_path: Path):
        volume = await api.post(
            "/api/v1/volumes",
            json={"name": "here", "type": "local", "config": {"path": str(tmp_path)}},
        )
        found = snapshot(volume.json()["id"], **stored(b"gone"))
        answer(fake_catalog, found)
        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")
        assert response.status_code == 404
        assert "missing" in response.json()["detail"]

    async def test_a_rewritten_manifest_is_409_with_the_sentence(self, api, fake_catalog, tmp_path):
        record = stored(b"dump-bytes!")
        forged_data = b"DROP TABLE!"
        lay_out(tmp_path, forged_data, stored(forged_data))  # hashes recomputed to agree
        volume = await api.post(
            "/api/v1/volumes",
            json={"name": "here", "type": "local", "config": {"path": str(tmp_path)}},
        )
        found = snapshot(volume.json()["id"], **record)
        answer(fake_catalog, found)

        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")

        assert response.status_code == 409
        assert response.json()["detail"].startswith("artifact does not match the catalog (sha256")

    async def test_a_snapshot_the_catalog_holds_no_manifest_of_is_409(
        self, api, fake_catalog, tmp_path
    ):
        lay_out(tmp_path, b"dump-bytes!", stored(b"dump-bytes!"))
        volume = await api.post(
            "/api/v1/volumes",
            json={"name": "here", "type": "local", "config": {"path": str(tmp_path)}},
        )
        found = snapshot(volume.json()["id"])  # no manifest recorded
        answer(fake_catalog, found)

        response = await api.get(f"/api/v1/snapshots/{found['id']}/download")

        assert response.status_code == 409
        assert "holds no checksums" in response.json()["detail"]
