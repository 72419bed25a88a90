"""Bearer tokens: every /api/v1 route needs one; created, listed, revoked; the host command."""

import os
import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from services.api.app import build_app
from tests.integration.api.conftest import api_settings, register, running_api

pytestmark = pytest.mark.integration

UNAUTHENTICATED = {"detail": "not authenticated"}
ANY_ID = "00000000-0000-4000-8000-000000000000"


def every_api_route() -> list[tuple[str, str]]:
    """Each (method, path) of the OpenAPI document, with ids filled in."""
    schema = build_app(api_settings("amqp://x@127.0.0.1:1/", "x", "postgresql://x/x")).openapi()
    return sorted(
        (method.upper(), path.format_map(_AnyId()))
        for path, methods in schema["paths"].items()
        for method in methods
    )


class _AnyId(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ANY_ID


def anonymous(api: httpx.AsyncClient, token: str | None = None) -> httpx.AsyncClient:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(transport=api._transport, base_url="http://api", headers=headers)


class TestEveryRouteNeedsAToken:
    @pytest.mark.parametrize(("method", "path"), every_api_route())
    async def test_no_token_is_401_without_detail(self, api, method, path):
        async with anonymous(api) as client:
            response = await client.request(method, path, json={})
        assert response.status_code == 401
        assert response.json() == UNAUTHENTICATED
        assert response.headers["www-authenticate"] == "Bearer"

    def test_the_contract_routes_are_all_there(self):
        paths = {path for _, path in every_api_route()}
        assert {
            "/api/v1/servers", f"/api/v1/servers/{ANY_ID}", f"/api/v1/servers/{ANY_ID}/test",
            f"/api/v1/servers/{ANY_ID}/databases", "/api/v1/volumes", f"/api/v1/volumes/{ANY_ID}",
            f"/api/v1/volumes/{ANY_ID}/test", "/api/v1/backups", "/api/v1/snapshots",
            f"/api/v1/snapshots/{ANY_ID}", f"/api/v1/snapshots/{ANY_ID}/download",
            f"/api/v1/snapshots/{ANY_ID}/cancel", "/api/v1/tokens", f"/api/v1/tokens/{ANY_ID}",
        } <= paths  # fmt: skip

    @pytest.mark.parametrize(
        "header", ["Bearer dbm_not-a-real-token", "Bearer ", "Basic dXNlcjpwdw==", "dbm_x"]
    )
    async def test_a_wrong_token_is_401_the_same_way(self, api, header):
        async with anonymous(api) as client:
            response = await client.get("/api/v1/servers", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json() == UNAUTHENTICATED

    @pytest.mark.parametrize("path", ["/healthz", "/readyz"])
    async def test_health_endpoints_stay_open(self, api, path):
        async with anonymous(api) as client:
            response = await client.get(path)
        assert response.status_code == 200

    async def test_metrics_are_only_on_the_metrics_port(self, api):
        """The HTTP port is what the gateway and the Ingress route: /metrics is not there."""
        async with anonymous(api) as client:
            assert (await client.get("/metrics")).status_code == 404
        port = api._transport.app.state.metrics_port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as metrics:
            scraped = await metrics.get("/metrics")
            ready = await metrics.get("/readyz")
        assert scraped.status_code == 200
        assert "databasement" in scraped.text
        assert ready.json()["status"] == "ready"

    def test_every_route_has_a_docstring(self):
        schema = build_app(api_settings("amqp://x@127.0.0.1:1/", "x", "postgresql://x/x")).openapi()
        for path, methods in schema["paths"].items():
            for method, operation in methods.items():
                assert operation.get("description"), f"{method} {path} has no docstring"
                assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"


class TestTokens:
    async def test_a_created_token_opens_the_api_and_is_listed_without_itself(self, api):
        created = await api.post("/api/v1/tokens", json={"name": "ci"})
        assert created.status_code == 201
        body = created.json()
        assert body["token"].startswith("dbm_")
        assert len(body["token"]) > 40
        async with anonymous(api, body["token"]) as client:
            assert (await client.get("/api/v1/servers")).status_code == 200
        listing = await api.get("/api/v1/tokens")
        assert listing.status_code == 200
        [mine] = [t for t in listing.json() if t["id"] == body["id"]]
        assert set(mine) == {"id", "name", "created_at", "last_used_at", "revoked_at"}
        assert mine["name"] == "ci"
        assert mine["last_used_at"] is not None
        assert mine["revoked_at"] is None
        assert body["token"] not in listing.text
        assert api.token not in listing.text

    async def test_a_revoked_token_is_401(self, api):
        body = (await api.post("/api/v1/tokens", json={"name": "old"})).json()
        revoked = await api.delete(f"/api/v1/tokens/{body['id']}")
        assert revoked.status_code == 204
        async with anonymous(api, body["token"]) as client:
            response = await client.get("/api/v1/servers")
        assert response.status_code == 401
        assert response.json() == UNAUTHENTICATED
        [listed] = [t for t in (await api.get("/api/v1/tokens")).json() if t["id"] == body["id"]]
        assert listed["revoked_at"] is not None
        assert (await api.delete(f"/api/v1/tokens/{body['id']}")).status_code == 204

    async def test_revoking_an_unknown_token_is_404(self, api):
        response = await api.delete(f"/api/v1/tokens/{ANY_ID}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"token {ANY_ID} does not exist"}

    async def test_tokens_are_stored_only_hashed(self, api, pg_database):
        body = (await api.post("/api/v1/tokens", json={"name": "x"})).json()
        conn = await asyncpg.connect(pg_database)
        try:
            dump = await conn.fetchval("SELECT json_agg(t)::text FROM api.tokens t")
        finally:
            await conn.close()
        assert body["token"] not in dump
        assert api.token not in dump

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "extra": 1}])
    async def test_an_invalid_token_body_is_422(self, api, body):
        response = await api.post("/api/v1/tokens", json=body)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: ")


def command_env(rabbit_url: str, namespace: str, pg_database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    return (
        env
        | {
            "BROKER_URL": rabbit_url,
            "BROKER_NAMESPACE": namespace,
            "DATABASE_URL": pg_database,
            "API_ENVIRONMENT": "test",
        }
        | extra
    )


def run_api_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.api", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


class TestHostCommands:
    async def test_create_token_prints_only_a_working_token(
        self, rabbit_url, namespace, pg_database
    ):
        env = command_env(rabbit_url, namespace, pg_database)
        done = run_api_command(env, "create-token", "--name", "first")
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert done.stdout == token + "\n"
        assert token.startswith("dbm_")
        assert token not in done.stderr
        settings = api_settings(rabbit_url, namespace, pg_database)
        async with running_api(settings) as api, anonymous(api, token) as client:
            response = await client.get("/api/v1/tokens")
        assert response.status_code == 200
        assert "first" in {t["name"] for t in response.json()}

    @pytest.mark.usefixtures("dumper")
    async def test_rotating_the_credentials_key_re_encrypts_every_secret(
        self, rabbit_url, namespace, pg_database, tmp_path
    ):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        settings: dict[str, Any] = {"credentials_key": old}
        async with running_api(api_settings(rabbit_url, namespace, pg_database, **settings)) as api:
            server_id, volume_id = await register(api)
        key_file = tmp_path / "new.key"
        key_file.write_text(new + "\n")
        env = command_env(rabbit_url, namespace, pg_database, API_CREDENTIALS_KEY=old)
        done = run_api_command(env, "rotate-credentials-key", "--new-key-file", str(key_file))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("re-encrypted 2 stored secret(s)")
        assert old not in done.stdout + done.stderr
        assert new not in done.stdout + done.stderr
        rotated = {"credentials_key": new}
        async with running_api(api_settings(rabbit_url, namespace, pg_database, **rotated)) as api:
            # A backup opens the password and the volume spec with the new key.
            body = {"server_id": server_id, "database": "shop", "volume_id": volume_id}
            assert (await api.post("/api/v1/backups", json=body)).status_code == 202

    async def test_rotation_with_a_wrong_current_key_changes_nothing(
        self, rabbit_url, namespace, pg_database
    ):
        old = Fernet.generate_key().decode()
        async with running_api(
            api_settings(rabbit_url, namespace, pg_database, credentials_key=old)
        ) as api:
            await register(api)
        env = command_env(
            rabbit_url,
            namespace,
            pg_database,
            API_CREDENTIALS_KEY=Fernet.generate_key().decode(),
            API_NEW_CREDENTIALS_KEY=Fernet.generate_key().decode(),
        )
        done = run_api_command(env, "rotate-credentials-key")
        assert done.returncode != 0
        assert "nothing was changed" in done.stderr
