"""The nginx gateway (deploy/nginx/databasement.conf) in front of two api replicas.

The real nginx terminates TLS with a certificate from a test CA; a backup is registered,
requested and followed to completion through it, and the gateway's own refusals (413 for an
oversized body, 429 past the rate limit) are shown to come from nginx, not the api.
"""

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.fixtures.resources import unique
from tests.integration.deploy.gateway import (
    Gateway,
    make_certificates,
    nginx_argv,
    write_config,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

ROUTE_EVENTS = ("server_registered", "volume_registered", "backup_accepted")
LIMIT = 1024 * 1024  # client_max_body_size 1m


@pytest.fixture
async def client(gateway: Gateway, two_api_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.base_url,
        verify=gateway.tls_context(),
        headers={"Authorization": f"Bearer {two_api_stack.token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=100),
    ) as http:
        yield http


@pytest.fixture
async def source_database(pg_database: str) -> str:
    """A small PostgreSQL database to back up; returns its name."""
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute("CREATE TABLE fruit (id int PRIMARY KEY, name text NOT NULL)")
        await conn.execute(
            "INSERT INTO fruit SELECT i, 'fruit ' || i FROM generate_series(1, 500) AS i"
        )
    finally:
        await conn.close()
    return urlsplit(pg_database).path.lstrip("/")


def upstreams_of(gateway: Gateway, status: int, path: str) -> list[str]:
    """The upstream address of every logged request with this status and path.

    nginx logs a request when it is done with the connection, which for a refused body is
    after it has drained the rest of it: wait a moment for the line.
    """
    pattern = re.compile(rf"^{status} \S+ {re.escape(path)} upstream=(\S+)$", re.MULTILINE)
    deadline = time.monotonic() + 5
    while not (found := pattern.findall(gateway.access_log())) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


class TestGatewayConfig:
    def test_nginx_accepts_the_shipped_config(self, nginx: str, tmp_path: Path):
        write_config(tmp_path, upstreams=[8080, 8081], certificates=make_certificates(tmp_path))

        checked = subprocess.run(
            [*nginx_argv(nginx, tmp_path), "-t"], capture_output=True, check=False, timeout=30
        )

        assert checked.returncode == 0, checked.stderr.decode()


class TestGateway:
    async def test_backup_through_the_gateway_completes_served_by_both_replicas(
        self,
        client: httpx.AsyncClient,
        gateway: Gateway,
        two_api_stack: Stack,
        postgres_url: str,
        source_database: str,
        tmp_path: Path,
    ):
        pg = urlsplit(postgres_url)
        server = await client.post(
            "/api/v1/servers",
            json={
                "name": unique("pg-"),
                "type": "postgresql",
                "host": pg.hostname,
                "port": pg.port or 5432,
                "username": pg.username or "postgres",
                "password": pg.password or "trust-auth",
            },
        )
        assert server.status_code == 201, server.text
        volume = await client.post(
            "/api/v1/volumes",
            json={"name": unique("local-"), "type": "local", "config": {"path": str(tmp_path)}},
        )
        assert volume.status_code == 201, volume.text
        accepted = await client.post(
            "/api/v1/backups",
            json={
                "server_id": server.json()["id"],
                "database": source_database,
                "volume_id": volume.json()["id"],
            },
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.url.scheme == "https"
        [pending] = accepted.json()["snapshots"]

        snapshot = await wait_terminal(client, pending["id"], timeout=60)

        assert snapshot["status"] == "completed", snapshot.get("error")
        assert (tmp_path / snapshot["path"]).is_file()
        for replica in (0, 1):
            log = (two_api_stack.log_dir / f"api-{replica}.log").read_text()
            assert any(event in log for event in ROUTE_EVENTS), f"api replica {replica} idle"
        # Read it twice more: round robin sends consecutive requests to different replicas,
        # and both must see the same completed snapshot.
        again = [await client.get(f"/api/v1/snapshots/{pending['id']}") for _ in range(2)]
        assert [r.json()["status"] for r in again] == ["completed", "completed"]
        polled = set(upstreams_of(gateway, 200, f"/api/v1/snapshots/{pending['id']}"))
        assert len(polled) == 2, f"the snapshot reads reached only {polled}"

    async def test_oversized_body_gets_413_from_nginx(
        self, client: httpx.AsyncClient, gateway: Gateway
    ):
        body = b'{"name": "' + b"x" * (2 * LIMIT) + b'"}'

        refused = await client.post(
            "/api/v1/servers", content=body, headers={"content-type": "application/json"}
        )

        assert refused.status_code == 413
        assert refused.headers["server"] == "nginx"
        assert upstreams_of(gateway, 413, "/api/v1/servers") == ["-"], "the api saw the body"

    async def test_body_under_the_limit_reaches_the_api(
        self, client: httpx.AsyncClient, gateway: Gateway
    ):
        body = b'{"name": "' + b"x" * (LIMIT - 4096) + b'"}'

        answered = await client.post(
            "/api/v1/servers", content=body, headers={"content-type": "application/json"}
        )

        assert answered.status_code == 422, answered.text
        [upstream] = upstreams_of(gateway, 422, "/api/v1/servers")
        assert upstream != "-"

    async def test_burst_beyond_the_rate_limit_gets_429_from_nginx(
        self, client: httpx.AsyncClient, gateway: Gateway
    ):
        await asyncio.sleep(2.5)  # let the earlier tests' requests leave the bucket
        path = "/api/v1/tokens"

        started = time.monotonic()
        responses = await asyncio.gather(*(client.get(path) for _ in range(80)))
        elapsed = time.monotonic() - started

        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 429}, statuses
        # burst=20 served at once, plus what 10 r/s refills while the burst arrives.
        assert 20 <= statuses.count(200) <= 21 + 10 * elapsed, (elapsed, statuses)
        assert set(upstreams_of(gateway, 429, path)) == {"-"}, "a 429 came from the api"
        await asyncio.sleep(1.0)
        assert (await client.get(path)).status_code == 200, "the limit must let traffic resume"

    async def test_sign_in_posts_beyond_their_limit_get_429_from_nginx(
        self, client: httpx.AsyncClient, gateway: Gateway
    ):
        """30 a minute, bursts of 10: a flood of sign-ins never reaches the api's scrypt."""
        form = await client.get("/ui/login")
        posts = await asyncio.gather(
            *(client.post("/ui/login", data={"password": "x"}) for _ in range(25))
        )
        again = await client.get("/ui/login")

        statuses = [p.status_code for p in posts]
        assert form.status_code == again.status_code == 200  # loading the form is not limited
        assert set(statuses) == {403, 429}, statuses  # 403: no CSRF token, from the api
        assert 10 <= statuses.count(403) <= 12, statuses
        assert set(upstreams_of(gateway, 429, "/ui/login")) == {"-"}, "a 429 came from the api"

    @pytest.mark.parametrize("path", ["/metrics", "/readyz", "/healthz"])
    async def test_metrics_and_probes_are_not_served_through_the_gateway(
        self, client: httpx.AsyncClient, gateway: Gateway, path: str
    ):
        answered = await client.get(path)

        assert answered.status_code == 404
        assert set(upstreams_of(gateway, 404, path)) == {"-"}

    async def test_a_forged_x_forwarded_for_does_not_reach_the_api(
        self, gateway: Gateway, two_api_stack: Stack
    ):
        """The api counts sign-in failures per address: a client must not pick its own."""
        async with httpx.AsyncClient(
            base_url=gateway.base_url, verify=gateway.tls_context(), timeout=30
        ) as browser:
            form = (await browser.get("/ui/login")).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None, form
            deadline = time.monotonic() + 30
            while True:  # the sign-in limit may still hold the flood test's posts: wait it out
                refused = await browser.post(
                    "/ui/login/token",
                    data={"csrf_token": csrf.group(1), "token": "dbm_not-a-token"},
                    headers={"X-Forwarded-For": "203.0.113.66"},
                )
                if refused.status_code != 429 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)

        assert refused.status_code == 401
        deadline = time.monotonic() + 10
        while '"ui_sign_in_refused"' not in (logs := two_api_stack.logs()):
            assert time.monotonic() < deadline, "the refusal was not logged"
            await asyncio.sleep(0.1)
        [line] = [ln for ln in logs.splitlines() if '"ui_sign_in_refused"' in ln]
        assert '"address": "127.0.0.1"' in line, line
        assert "203.0.113.66" not in logs

    async def test_api_refuses_an_oversized_body_without_the_gateway(self, two_api_stack: Stack):
        body = b'{"name": "' + b"x" * (2 * LIMIT) + b'"}'
        async with httpx.AsyncClient(
            base_url=two_api_stack.api_url,
            headers={"Authorization": f"Bearer {two_api_stack.token}"},
        ) as direct:
            answered = await direct.post(
                "/api/v1/servers", content=body, headers={"content-type": "application/json"}
            )

        assert answered.status_code == 413
        assert "larger than the limit" in answered.json()["detail"]


async def wait_terminal(client: httpx.AsyncClient, snapshot_id: str, timeout: float) -> dict:
    """Poll the snapshot through the gateway until it is completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/snapshots/{snapshot_id}")
        assert response.status_code == 200, response.text
        snapshot: dict = response.json()
        if snapshot["status"] in {"completed", "failed"}:
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"snapshot {snapshot_id} still {snapshot['status']}")
        await asyncio.sleep(0.3)
