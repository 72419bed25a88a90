"""Servers: PATCH, DELETE (409 while busy), tags and TLS, /test and /databases via the dumper;
backups refused for a database the server does not have."""

from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from shared.events import BackupRequested
from shared.queries import ServerActivity
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.specs import ConnectionSpec

pytestmark = pytest.mark.integration

MISSING = "00000000-0000-4000-8000-000000000000"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SERVER = {
    "name": "prod",
    "type": "postgresql",
    "host": "db.internal",
    "port": 5432,
    "username": "backup",
    "password": "hunter2-secret",
    "tags": ["prod", "eu"],
    "tls": {"mode": "verify-full", "ca": CA},
}
CHECKS = [
    {"check": "reachable", "ok": True, "detail": "db.internal:5432 answers"},
    {"check": "authenticated", "ok": True, "detail": "logged in as backup"},
    {"check": "server_version", "ok": True, "detail": "PostgreSQL 15.4"},
    {"check": "privileges", "ok": False, "detail": "missing SELECT on public.orders"},
    {"check": "dump_tool", "ok": True, "detail": "pg_dump 15.20 at /usr/bin/pg_dump"},
]


async def add_server(api, **changes: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/servers", json=SERVER | changes)
    assert response.status_code == 201, response.text
    return response.json()


def unseal(sealed: str) -> ConnectionSpec:
    return ConnectionSpec.model_validate(Sealer(SecretStr(DEV_SEAL_KEY)).unseal(sealed))


class TestTagsAndTls:
    async def test_tags_and_tls_are_stored_returned_and_filterable(self, api):
        created = await add_server(api)
        assert created["tags"] == ["prod", "eu"]
        assert created["tls"] == {"mode": "verify-full", "ca": CA}
        await add_server(api, name="dev", tags=["dev"], tls=None)
        prod = await api.get("/api/v1/servers", params={"tag": "prod"})
        assert [s["name"] for s in prod.json()] == ["prod"]

    async def test_tls_travels_sealed_to_the_dumper(self, api, dumper):
        created = await add_server(api)
        assert (await api.get(f"/api/v1/servers/{created['id']}/databases")).status_code == 200
        connection = unseal(dumper.asked[-1]["connection"])
        assert (connection.tls_mode, connection.tls_ca) == ("verify-full", CA)
        assert "hunter2" not in str(dumper.asked)

    @pytest.mark.parametrize(
        "change",
        [
            {"tls": {"mode": "sometimes"}},
            {"tls": {"mode": "require", "ca": "not a pem"}},
            {"tags": ["has space"]},
            {"tags": "prod"},
        ],
    )
    async def test_invalid_tags_or_tls_are_422(self, api, change):
        response = await api.post("/api/v1/servers", json=SERVER | change)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: ")
        assert "hunter2" not in response.text


class TestPatch:
    async def test_changed_fields_change_and_others_stay(self, api):
        created = await add_server(api)
        response = await api.patch(
            f"/api/v1/servers/{created['id']}",
            json={"host": "db2.internal", "tags": ["x"], "password": "hunter2-secret"},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["host"] == "db2.internal"
        assert updated["tags"] == ["x"]
        assert updated["tls"] == created["tls"]
        assert {k: v for k, v in updated.items() if k not in {"host", "tags"}} == {
            k: v for k, v in created.items() if k not in {"host", "tags"}
        }
        assert (await api.get(f"/api/v1/servers/{created['id']}")).json() == updated

    async def test_a_new_password_is_sealed_and_used(self, api, dumper):
        created = await add_server(api)
        response = await api.patch(
            f"/api/v1/servers/{created['id']}", json={"password": "new-pass-word"}
        )
        assert response.status_code == 200
        assert "new-pass-word" not in response.text
        await api.get(f"/api/v1/servers/{created['id']}/databases")
        connection = unseal(dumper.asked[-1]["connection"])
        assert connection.password.get_secret_value() == "new-pass-word"

    async def test_tls_null_clears_it(self, api):
        created = await add_server(api)
        response = await api.patch(
            f"/api/v1/servers/{created['id']}", json={"tls": None, "password": "hunter2-secret"}
        )
        assert response.json()["tls"] is None

    @pytest.mark.parametrize(
        "change",
        [
            {"host": "attacker.example"},
            {"port": 6543},
            {"tls": {"mode": "disable"}},
            {"tls": None},
            {"host": "attacker.example", "tags": ["x"]},
        ],
    )
    async def test_moving_the_address_without_the_password_is_422(self, api, dumper, change):
        """The stored password is only ever sent where it was entered for."""
        created = await add_server(api)
        path = f"/api/v1/servers/{created['id']}"
        response = await api.patch(path, json=change)
        assert response.status_code == 422
        assert response.json()["detail"].startswith(
            "enter the password again when the address changes"
        )
        assert (await api.get(path)).json() == created  # nothing changed
        await api.get(f"{path}/databases")
        connection = unseal(dumper.asked[-1]["connection"])
        assert (connection.host, connection.port) == ("db.internal", 5432)

    async def test_the_same_address_again_or_other_fields_need_no_password(self, api):
        """Forms send every field back: an unchanged address is no move."""
        created = await add_server(api)
        same = {"host": "DB.internal", "port": 5432, "tls": {"mode": "verify-full", "ca": CA}}
        response = await api.patch(
            f"/api/v1/servers/{created['id']}", json=same | {"name": "renamed", "tags": ["x"]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "renamed"

    async def test_a_move_with_the_password_is_taken_and_used(self, api, dumper):
        created = await add_server(api)
        response = await api.patch(
            f"/api/v1/servers/{created['id']}",
            json={"host": "db2.internal", "port": 6543, "password": "re-entered"},
        )
        assert response.status_code == 200, response.text
        await api.get(f"/api/v1/servers/{created['id']}/databases")
        connection = unseal(dumper.asked[-1]["connection"])
        assert (connection.host, connection.port) == ("db2.internal", 6543)
        assert connection.password.get_secret_value() == "re-entered"

    async def test_a_taken_name_is_409(self, api):
        await add_server(api)
        other = await add_server(api, name="other")
        response = await api.patch(f"/api/v1/servers/{other['id']}", json={"name": "prod"})
        assert response.status_code == 409
        assert response.json() == {"detail": "a server named 'prod' already exists"}

    async def test_unknown_server_is_404(self, api):
        response = await api.patch(f"/api/v1/servers/{MISSING}", json={"host": "x"})
        assert response.status_code == 404
        assert response.json() == {"detail": f"server {MISSING} does not exist"}

    @pytest.mark.parametrize("body", [{"port": 0}, {"password": 5}, {"colour": "red"}])
    async def test_an_invalid_change_is_422(self, api, body):
        created = await add_server(api)
        response = await api.patch(f"/api/v1/servers/{created['id']}", json=body)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: ")


class TestDelete:
    async def test_a_server_with_running_snapshots_is_409(self, api, fake_catalog):
        created = await add_server(api)
        fake_catalog.replies["server_activity"] = {
            "ok": True,
            "in_progress": 2,
            "snapshots": 5,
            "restores": 0,
        }
        response = await api.delete(f"/api/v1/servers/{created['id']}")
        assert response.status_code == 409
        assert response.json() == {
            "detail": "server 'prod' has 2 snapshot(s) pending or in progress; "
            "wait for them or cancel them first"
        }
        assert ServerActivity.model_validate(fake_catalog.asked[-1]) == ServerActivity(
            server_id=created["id"]
        )
        assert (await api.get(f"/api/v1/servers/{created['id']}")).status_code == 200

    async def test_an_idle_server_is_deleted_with_its_past_requests(self, api, fake_catalog):
        created = await add_server(api)
        volume = await api.post(
            "/api/v1/volumes", json={"name": "nas", "type": "local", "config": {"path": "/srv"}}
        )
        body = {"server_id": created["id"], "database": "shop", "volume_id": volume.json()["id"]}
        assert (await api.post("/api/v1/backups", json=body)).status_code == 202
        fake_catalog.replies["server_activity"] = {
            "ok": True,
            "in_progress": 0,
            "snapshots": 1,
            "restores": 0,
        }
        response = await api.delete(f"/api/v1/servers/{created['id']}")
        assert response.status_code == 204
        assert (await api.get(f"/api/v1/servers/{created['id']}")).status_code == 404
        assert (await api.delete(f"/api/v1/servers/{created['id']}")).status_code == 404


class TestConnectionTest:
    async def test_the_dumpers_checks_are_returned(self, api, dumper):
        created = await add_server(api)
        dumper.replies["test_connection"] = {"ok": True, "checks": CHECKS}
        response = await api.post(f"/api/v1/servers/{created['id']}/test")
        assert response.status_code == 200
        assert response.json() == {"checks": CHECKS, "archiving": None}
        asked = dumper.asked[-1]
        assert asked["op"] == "test_connection"
        assert unseal(asked["connection"]).host == "db.internal"
        assert "hunter2" not in str(asked)

    async def test_the_archiving_verdict_is_returned_beside_the_checks(self, api, dumper):
        created = await add_server(api)
        archiving = {
            "ready": False,
            "summary": "ready for point-in-time recovery: no: role backup lacks REPLICATION: "
            "ALTER ROLE backup REPLICATION",
            "checks": [
                {
                    "check": "replication_role",
                    "ok": False,
                    "detail": "role backup lacks REPLICATION: ALTER ROLE backup REPLICATION",
                }
            ],
        }
        dumper.replies["test_connection"] = {"ok": True, "checks": CHECKS, "archiving": archiving}
        response = await api.post(f"/api/v1/servers/{created['id']}/test")
        assert response.status_code == 200
        assert response.json() == {"checks": CHECKS, "archiving": archiving}

    async def test_a_dumper_error_is_503_with_a_sentence(self, api, dumper):
        created = await add_server(api)
        dumper.replies["test_connection"] = {"ok": False, "error": "cannot open the seal"}
        response = await api.post(f"/api/v1/servers/{created['id']}/test")
        assert response.status_code == 503
        assert response.json() == {
            "detail": "the dumper could not test server 'prod': cannot open the seal"
        }

    async def test_unknown_server_is_404(self, api):
        response = await api.post(f"/api/v1/servers/{MISSING}/test")
        assert response.status_code == 404


class TestNoDumperAnswering:
    @pytest.fixture
    def dumper_running(self) -> bool:
        return False

    @pytest.fixture
    def api_options(self) -> dict[str, Any]:
        return {"query_timeout": 0.3, "test_timeout": 0.3}

    async def test_the_connection_test_is_503_with_a_sentence(self, api):
        created = await add_server(api)
        response = await api.post(f"/api/v1/servers/{created['id']}/test")
        assert response.status_code == 503
        assert response.json() == {"detail": "the dumper did not answer within 0.3 s"}

    async def test_a_backup_cannot_be_checked_so_is_503(self, api):
        created = await add_server(api)
        volume = await api.post(
            "/api/v1/volumes", json={"name": "nas", "type": "local", "config": {"path": "/srv"}}
        )
        body = {"server_id": created["id"], "database": "shop", "volume_id": volume.json()["id"]}
        response = await api.post("/api/v1/backups", json=body)
        assert response.status_code == 503


class TestDatabases:
    async def test_system_databases_are_left_out(self, api):
        created = await add_server(api)
        response = await api.get(f"/api/v1/servers/{created['id']}/databases")
        assert response.status_code == 200
        assert response.json() == {"databases": ["crm", "shop"]}

    async def test_a_listing_error_is_422_with_its_sentence(self, api, dumper):
        created = await add_server(api)
        dumper.replies["list_databases"] = {"ok": False, "error": "password authentication failed"}
        response = await api.get(f"/api/v1/servers/{created['id']}/databases")
        assert response.status_code == 422
        assert response.json() == {
            "detail": "cannot list the databases of server 'prod': password authentication failed"
        }

    async def test_unknown_server_is_404(self, api):
        assert (await api.get(f"/api/v1/servers/{MISSING}/databases")).status_code == 404


class TestBackupDatabaseCheck:
    async def test_a_database_the_server_lacks_is_422_and_nothing_is_queued(self, api, pg_database):
        created = await add_server(api)
        volume = await api.post(
            "/api/v1/volumes", json={"name": "nas", "type": "local", "config": {"path": "/srv"}}
        )
        body = {"server_id": created["id"], "database": "nope", "volume_id": volume.json()["id"]}
        response = await api.post("/api/v1/backups", json=body)
        assert response.status_code == 422
        assert response.json() == {"detail": "database 'nope' does not exist on server 'prod'"}
        conn = await asyncpg.connect(pg_database)
        try:
            assert await conn.fetchval("SELECT count(*) FROM api.outbox") == 0
        finally:
            await conn.close()

    async def test_the_list_is_reused_but_asked_again_for_a_new_database(
        self, api, dumper, backup_requests
    ):
        created = await add_server(api)
        volume = (
            await api.post(
                "/api/v1/volumes",
                json={"name": "nas", "type": "local", "config": {"path": "/srv"}},
            )
        ).json()
        body = {"server_id": created["id"], "volume_id": volume["id"]}
        for database in ("shop", "crm", "shop"):
            response = await api.post("/api/v1/backups", json=body | {"database": database})
            assert response.status_code == 202
        assert len(dumper.asked) == 1
        dumper.replies["list_databases"] = {"ok": True, "databases": ["shop", "crm", "fresh"]}
        response = await api.post("/api/v1/backups", json=body | {"database": "fresh"})
        assert response.status_code == 202
        assert len(dumper.asked) == 2
        event = BackupRequested.model_validate_json((await backup_requests()).body)
        assert event.database == "shop"
