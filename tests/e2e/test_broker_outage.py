"""An api whose broker is away still accepts backups, and they run when it comes back.

A second api replica talks to RabbitMQ through a TCP proxy the test controls. It starts
while the proxy refuses connections, accepts a backup (202) into its outbox, and nothing
reaches the pipeline; once the proxy lets the broker through, the relay publishes the
request and the snapshot completes. The replica keeps its tables in a schema of its own, so
the stack's own api cannot relay the request in its place.
"""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.cli import drop_postgres, tiny_postgres
from tests.fixtures.resources import unique
from tests.support.env import free_port
from tests.support.proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

START_TIMEOUT = 60.0


@dataclass
class Replica:
    url: str
    token: str | None
    process: subprocess.Popen[bytes]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@pytest.fixture
async def broker_proxy(rabbit_url: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(rabbit_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    await proxy.close()


@pytest.fixture
async def replica(stack, rabbit_url, broker_proxy, tmp_path) -> AsyncIterator[Replica]:
    """An api process of its own schema whose broker is the (closed) proxy."""
    parts = urlsplit(rabbit_url)
    port = free_port()
    env = {
        **stack.env,
        "API_HTTP_PORT": str(port),
        "API_SCHEMA_NAME": unique("api_outage_"),
        "BROKER_URL": parts._replace(netloc=_netloc(parts, broker_proxy.port)).geturl(),
    }
    token = await _create_token(env)
    process = stack.spawn("api", env, log_name="api-outage")
    replica = Replica(f"http://127.0.0.1:{port}", token, process)
    try:
        await _wait_serving(replica)
        yield replica
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def tiny_db(postgres_url: str) -> AsyncIterator[str]:
    name = await tiny_postgres(postgres_url)
    yield name
    await drop_postgres(postgres_url, name)


def _netloc(parts, port: int) -> str:
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return f"{credentials}127.0.0.1:{port}"


async def _create_token(env: dict[str, str]) -> str | None:
    """A token of the replica's own schema, made the way an operator makes the first one."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.api", "create-token", "--name", "outage-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def _wait_serving(replica: Replica) -> None:
    """Until the replica answers HTTP (it is not ready, by design: its broker is away)."""
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert replica.process.poll() is None, "the api replica exited"
            try:
                if (await http.get(f"{replica.url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"the api replica did not serve within {START_TIMEOUT}s")


async def wait_terminal(api, snapshot_id: str, timeout: float = 90) -> dict:
    """Poll the stack's own api (it asks the catalog) until the snapshot is terminal;
    404 until the relayed request reaches the catalog."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await api.http.get(f"/api/v1/snapshots/{snapshot_id}")
        assert response.status_code in {200, 404}, response.text
        if response.status_code == 200 and response.json()["status"] in {"completed", "failed"}:
            return response.json()
        await asyncio.sleep(0.3)
    raise AssertionError(f"snapshot {snapshot_id} not terminal after {timeout}s")


class TestBrokerOutage:
    async def test_backup_accepted_while_broker_away_completes_when_it_returns(
        self, api, replica, broker_proxy, tiny_db, tmp_path: Path
    ):
        async with httpx.AsyncClient(
            base_url=replica.url, headers=replica.headers(), timeout=30
        ) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503, "the replica must not reach the broker yet"
            server = await http.post(
                "/api/v1/servers",
                json={
                    "name": unique("outage-pg-"),
                    "type": "postgresql",
                    "host": "127.0.0.1",
                    "port": 5432,
                    "username": "postgres",
                    "password": "trust-auth",
                },
            )
            assert server.status_code == 201, server.text
            volume = await http.post(
                "/api/v1/volumes",
                json={
                    "name": unique("outage-vol-"),
                    "type": "local",
                    "config": {"path": str(tmp_path)},
                },
            )
            assert volume.status_code == 201, volume.text

            accepted = await http.post(
                "/api/v1/backups",
                json={
                    "server_id": server.json()["id"],
                    "database": tiny_db,
                    "volume_id": volume.json()["id"],
                },
            )

            assert accepted.status_code == 202, accepted.text
            [snapshot] = accepted.json()["snapshots"]
            await asyncio.sleep(2)
            unseen = await api.http.get(f"/api/v1/snapshots/{snapshot['id']}")
            assert unseen.status_code == 404, "the request left the outbox without a broker"

            await broker_proxy.open()

            done = await wait_terminal(api, snapshot["id"])
            assert done["status"] == "completed", done.get("error")
