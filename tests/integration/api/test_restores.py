"""POST /restores and /snapshots/{id}/verify against a fake catalog and dumper: what is
published through the outbox, and every refusal with its status and sentence."""

import json
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr

from shared.anchors import anchor_of
from shared.events import RestoreRequested
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from tests.integration.api.conftest import event_queue, register

pytestmark = pytest.mark.integration

PATH = "prod/shop/20260101T000000Z_x.sql.zst"
MANIFEST = {
    "compression": "zstd",
    "size": 11,
    "sha256": "ab" * 32,
    "tool": "pg_dump",
    "chunks": [{"seq": 0, "offset": 0, "size": 11, "sha256": "cd" * 32}],
}


def completed(server_id: str, volume_id: str, **changes: Any) -> dict[str, Any]:
    """A snapshot as the catalog answers get_snapshot."""
    return {
        "id": str(uuid4()),
        "status": "completed",
        "server_id": server_id,
        "server_name": "prod",
        "server_type": "postgresql",
        "database": "shop",
        "volume_id": volume_id,
        "compression": "zstd",
        "created_at": "2026-01-01T00:00:00+00:00",
        "started_at": "2026-01-01T00:00:01+00:00",
        "finished_at": "2026-01-01T00:00:04+00:00",
        "bytes_dumped": 100,
        "size": 11,
        "sha256": "ab" * 32,
        "path": PATH,
        "manifest_path": "prod/shop/20260101T000000Z_x.manifest.json",
        "manifest": MANIFEST,
        "error": None,
    } | changes


@pytest.fixture
async def restore_requests(rabbit_url: str, namespace: str):
    async with event_queue(rabbit_url, namespace, (RestoreRequested.routing_key,)) as next_message:
        yield next_message


@pytest.fixture
async def world(api, fake_catalog) -> dict[str, Any]:
    """A registered server and volume, and a completed snapshot of them the catalog knows."""
    server_id, volume_id = await register(api)
    found = completed(server_id, volume_id)
    fake_catalog.replies["get_snapshot"] = {"ok": True, "snapshot": found}
    fake_catalog.replies["target_activity"] = {"ok": True, "backups": [], "restores": []}
    fake_catalog.replies["get_restore"] = {"ok": False, "error": "not_found"}
    return {"server_id": server_id, "volume_id": volume_id, "snapshot": found}


async def add_server(api, **fields: Any) -> str:
    body = {
        "name": f"s-{uuid4().hex[:8]}",
        "type": "postgresql",
        "host": "other.internal",
        "port": 5432,
        "username": "u",
        "password": "pw-secret",
    } | fields
    response = await api.post("/api/v1/servers", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def post_restore(api, world, **changes: Any):
    body = {
        "snapshot_id": world["snapshot"]["id"],
        "server_id": world["server_id"],
        "database": "shop_copy",
    } | changes
    return await api.post("/api/v1/restores", json=body)


class TestAccepted:
    async def test_a_restore_is_published_with_its_target_and_source_sealed(
        self, api, world, restore_requests, fake_catalog
    ):
        response = await post_restore(api, world)
        assert response.status_code == 202, response.text
        assert set(response.json()) == {"id", "status"}
        assert response.json()["status"] == "pending"
        message = await restore_requests()
        event = RestoreRequested.model_validate_json(message.body)
        assert str(event.restore_id) == response.json()["id"]
        assert str(event.snapshot_id) == world["snapshot"]["id"]
        assert (event.mode, event.database, event.overwrite) == ("restore", "shop_copy", False)
        assert (str(event.server_id), event.server_type) == (world["server_id"], "postgresql")
        assert event.source.artifact_key == PATH
        assert event.source.manifest_key == world["snapshot"]["manifest_path"]
        assert event.source.anchor == anchor_of(MANIFEST, sha256="ab" * 32, size=11)
        assert (event.source.compression, str(event.source.volume_id)) == (
            "zstd",
            world["volume_id"],
        )
        sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        assert sealer.unseal(event.source.volume) == {
            "type": "local",
            "config": {"path": "/srv/backups"},
        }
        connection = sealer.unseal(event.connection)
        assert (connection["host"], connection["password"]) == ("db.internal", "hunter2-secret")
        assert b"hunter2-secret" not in message.body
        asked = [q for q in fake_catalog.asked if q["op"] == "target_activity"][-1]
        assert (asked["server_id"], asked["database"]) == (world["server_id"], "shop_copy")

    async def test_an_accepted_restore_reads_as_pending_before_the_catalog_knows_it(
        self, api, world
    ):
        accepted = (await post_restore(api, world)).json()
        response = await api.get(f"/api/v1/restores/{accepted['id']}")
        assert response.status_code == 200, response.text
        record = response.json()
        assert (record["status"], record["mode"], record["database"]) == (
            "pending",
            "restore",
            "shop_copy",
        )
        assert record["snapshot_id"] == world["snapshot"]["id"]

    async def test_mysql_goes_into_mariadb(self, api, world):
        world["snapshot"]["server_type"] = "mysql"
        mariadb = await add_server(api, type="mariadb", port=3306)
        response = await post_restore(api, world, server_id=mariadb)
        assert response.status_code == 202, response.text

    async def test_overwrite_accepts_an_existing_database_without_asking(self, api, world, dumper):
        response = await post_restore(api, world, database="shop", overwrite=True)
        assert response.status_code == 202, response.text
        assert [q for q in dumper.asked if q["op"] == "list_databases"] == []

    async def test_the_api_passes_its_unrecorded_backups_and_restores_to_the_catalog(
        self, api, world, fake_catalog
    ):
        body = {
            "server_id": world["server_id"],
            "database": "shop",
            "volume_id": world["volume_id"],
        }
        backup = (await api.post("/api/v1/backups", json=body)).json()["snapshots"][0]["id"]
        first = (await post_restore(api, world, database="shop", overwrite=True)).json()["id"]
        await post_restore(api, world, database="shop", overwrite=True)
        asked = [q for q in fake_catalog.asked if q["op"] == "target_activity"][-1]
        assert asked["requested"] == [backup]
        assert asked["requested_restores"] == [first]


class TestRefused:
    async def test_an_unknown_snapshot_is_404(self, api, world, fake_catalog):
        fake_catalog.replies["get_snapshot"] = {"ok": False, "error": "not_found"}
        missing = str(uuid4())
        response = await post_restore(api, world, snapshot_id=missing)
        assert response.status_code == 404
        assert response.json() == {"detail": f"snapshot {missing} does not exist"}

    async def test_an_unknown_server_is_404(self, api, world):
        missing = str(uuid4())
        response = await post_restore(api, world, server_id=missing)
        assert response.status_code == 404
        assert response.json() == {"detail": f"server {missing} does not exist"}

    @pytest.mark.parametrize("status", ["pending", "in_progress", "failed", "deleted"])
    async def test_a_snapshot_that_is_not_completed_is_409(self, api, world, status):
        world["snapshot"]["status"] = status
        response = await post_restore(api, world)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"snapshot {world['snapshot']['id']} is {status}; only a completed snapshot can be "
            "restored"
        )

    async def test_another_engine_family_is_422(self, api, world):
        mysql = await add_server(api, type="mysql", port=3306)
        response = await post_restore(api, world, server_id=mysql)
        assert response.status_code == 422
        assert response.json() == {
            "detail": "a postgresql snapshot cannot be restored into a mysql server"
        }

    async def test_an_existing_database_without_overwrite_is_409_asked_afresh(
        self, api, world, dumper
    ):
        dumper.replies["list_databases"] = {"ok": True, "databases": ["shop"]}
        listed = await api.get(f"/api/v1/servers/{world['server_id']}/databases")
        assert listed.json()["databases"] == ["shop"]  # remembered for a while
        dumper.replies["list_databases"] = {"ok": True, "databases": ["shop", "made_now"]}
        response = await post_restore(api, world, database="made_now")
        assert response.status_code == 409
        assert response.json() == {
            "detail": "database 'made_now' already exists on server 'prod'; restore with "
            "overwrite to replace its content"
        }

    async def test_the_source_of_a_running_backup_is_409(self, api, world, fake_catalog):
        running = str(uuid4())
        fake_catalog.replies["target_activity"] = {"ok": True, "backups": [running], "restores": []}
        response = await post_restore(api, world, database="shop", overwrite=True)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"database 'shop' on server 'prod' is being backed up (snapshot {running}); wait "
            "for the backup to finish"
        )

    async def test_a_database_another_restore_writes_into_is_409(self, api, world, fake_catalog):
        running = str(uuid4())
        fake_catalog.replies["target_activity"] = {"ok": True, "backups": [], "restores": [running]}
        response = await post_restore(api, world)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"restore {running} is already writing into database 'shop_copy' on server 'prod'; "
            "wait for it to finish"
        )

    async def test_the_service_own_database_is_409(self, api, world, pg_database):
        url = urlsplit(pg_database)
        own = await add_server(api, host="localhost", port=url.port or 5432)
        name = url.path.lstrip("/")
        response = await post_restore(api, world, server_id=own, database=name, overwrite=True)
        assert response.status_code == 409
        assert "is the service's own database" in response.json()["detail"]
        elsewhere = await post_restore(api, world, database=name, overwrite=True)
        assert elsewhere.status_code == 409
        assert "has the name of the service's own database" in elsewhere.json()["detail"]

    async def test_a_system_database_is_409(self, api, world):
        response = await post_restore(api, world, database="postgres", overwrite=True)
        assert response.status_code == 409
        assert response.json() == {
            "detail": "database 'postgres' is a system database; a restore never writes into it"
        }

    @pytest.mark.parametrize("name", ["", "bad\x01name", "x" * 64])
    async def test_a_bad_database_name_is_422(self, api, world, name):
        response = await post_restore(api, world, database=name)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: body.database")

    async def test_nothing_is_published_when_refused(self, api, world, restore_requests):
        world["snapshot"]["status"] = "failed"
        assert (await post_restore(api, world)).status_code == 409
        world["snapshot"]["status"] = "completed"
        accepted = await post_restore(api, world)
        message = await restore_requests()  # the first one published is the accepted one
        assert json.loads(message.body)["restore_id"] == accepted.json()["id"]


class TestVerify:
    async def test_a_verify_goes_into_a_scratch_database(self, api, world, restore_requests):
        response = await api.post(
            f"/api/v1/snapshots/{world['snapshot']['id']}/verify",
            json={"server_id": world["server_id"]},
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert set(body) == {"id", "status", "database"}
        assert body["status"] == "pending"
        assert body["database"].startswith("dbm_verify_")
        assert len(body["database"]) == len("dbm_verify_") + 8
        event = RestoreRequested.model_validate_json((await restore_requests()).body)
        assert (event.mode, event.database, event.overwrite) == ("verify", body["database"], False)
        assert event.restore_id == UUID(body["id"])

    async def test_a_verify_is_refused_like_a_restore(self, api, world):
        url = f"/api/v1/snapshots/{world['snapshot']['id']}/verify"
        mysql = await add_server(api, type="mysql", port=3306)
        wrong_engine = await api.post(url, json={"server_id": mysql})
        assert wrong_engine.status_code == 422
        missing = await api.post(url, json={"server_id": str(uuid4())})
        assert missing.status_code == 404
        world["snapshot"]["status"] = "in_progress"
        running = await api.post(url, json={"server_id": world["server_id"]})
        assert running.status_code == 409
        assert (await api.post(url, json={})).status_code == 422


class TestAnchor:
    async def test_a_snapshot_without_a_recorded_manifest_is_refused_with_409(
        self, api, world, fake_catalog
    ):
        fake_catalog.replies["get_snapshot"] = {
            "ok": True,
            "snapshot": world["snapshot"] | {"manifest": None},
        }

        response = await post_restore(api, world)

        assert response.status_code == 409
        assert "holds no checksums of this snapshot's artifact" in response.json()["detail"]
