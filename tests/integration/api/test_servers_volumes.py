"""Registering servers and volumes: 201 without secrets, lookups, 404, 409, 422."""

import asyncpg
import pytest

pytestmark = pytest.mark.integration

SERVER = {
    "name": "prod",
    "type": "mariadb",
    "host": "db.internal",
    "port": 3306,
    "username": "backup",
    "password": "hunter2-secret",
    "database": "shop",
}
S3 = {
    "endpoint": "s3.example.com",
    "bucket": "backups",
    "prefix": "db/",
    "region": "eu-west-1",
    "access_key": "AKIAEXAMPLE",
    "secret_key": "wJalrXUtnFEMI-secret",
    "secure": True,
}


class TestServers:
    async def test_created_server_is_returned_without_its_password(self, api):
        response = await api.post("/api/v1/servers", json=SERVER)
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {
            "id", "name", "type", "host", "port", "username", "database", "tags", "tls",
            "created_at",
        }  # fmt: skip
        assert body["database"] == "shop"
        assert "hunter2" not in response.text

    async def test_servers_are_listed_and_fetched_without_passwords(self, api):
        created = (await api.post("/api/v1/servers", json=SERVER)).json()
        listing = await api.get("/api/v1/servers")
        one = await api.get(f"/api/v1/servers/{created['id']}")
        assert [s["id"] for s in listing.json()] == [created["id"]]
        assert one.json() == created
        assert "hunter2" not in listing.text + one.text

    async def test_the_password_is_encrypted_at_rest(self, api, pg_database):
        await api.post("/api/v1/servers", json=SERVER)
        conn = await asyncpg.connect(pg_database)
        try:
            stored = await conn.fetchval("SELECT password_sealed FROM api.servers")
            dump = await conn.fetchval("SELECT row_to_json(s)::text FROM api.servers s")
        finally:
            await conn.close()
        assert stored.startswith("gAAAA")
        assert "hunter2" not in dump

    async def test_unknown_server_is_404_with_a_sentence(self, api):
        missing = "00000000-0000-4000-8000-000000000000"
        response = await api.get(f"/api/v1/servers/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"server {missing} does not exist"}

    async def test_a_taken_name_is_409(self, api):
        await api.post("/api/v1/servers", json=SERVER)
        response = await api.post("/api/v1/servers", json=SERVER)
        assert response.status_code == 409
        assert response.json() == {"detail": "a server named 'prod' already exists"}

    async def test_a_bad_body_is_422_without_echoing_the_password(self, api):
        response = await api.post("/api/v1/servers", json=SERVER | {"type": "oracle"})
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: body.type")
        assert "hunter2" not in response.text


class TestVolumes:
    async def test_local_volume_is_created_and_listed(self, api):
        body = {"name": "nas", "type": "local", "config": {"path": "/srv/backups"}}
        response = await api.post("/api/v1/volumes", json=body)
        assert response.status_code == 201
        created = response.json()
        assert created["config"] == {"path": "/srv/backups"}
        fetched = (await api.get(f"/api/v1/volumes/{created['id']}")).json()
        assert created.pop("usage") is None
        assert fetched.pop("usage") == {"bytes": None, "snapshots": None, "free_bytes": None}
        assert fetched == created
        assert [v["id"] for v in (await api.get("/api/v1/volumes")).json()] == [created["id"]]

    async def test_relative_local_path_is_422(self, api):
        body = {"name": "nas", "type": "local", "config": {"path": "backups"}}
        response = await api.post("/api/v1/volumes", json=body)
        assert response.status_code == 422
        assert "path must be absolute" in response.json()["detail"]

    async def test_s3_volume_never_returns_or_stores_its_secret_in_clear(self, api, pg_database):
        response = await api.post(
            "/api/v1/volumes", json={"name": "s3", "type": "s3", "config": S3}
        )
        assert response.status_code == 201
        created = response.json()
        assert "secret_key" not in created["config"]
        assert created["config"]["bucket"] == "backups"
        fetched = await api.get(f"/api/v1/volumes/{created['id']}")
        listed = await api.get("/api/v1/volumes")
        assert "wJalr" not in response.text + fetched.text + listed.text
        conn = await asyncpg.connect(pg_database)
        try:
            dump = await conn.fetchval("SELECT row_to_json(v)::text FROM api.volumes v")
        finally:
            await conn.close()
        assert "wJalr" not in dump

    async def test_s3_config_missing_the_bucket_is_422(self, api):
        config = {k: v for k, v in S3.items() if k != "bucket"}
        response = await api.post(
            "/api/v1/volumes", json={"name": "s3", "type": "s3", "config": config}
        )
        assert response.status_code == 422
        assert "bucket" in response.json()["detail"]
        assert "wJalr" not in response.text

    async def test_unknown_volume_is_404(self, api):
        missing = "00000000-0000-4000-8000-000000000000"
        response = await api.get(f"/api/v1/volumes/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"volume {missing} does not exist"}
