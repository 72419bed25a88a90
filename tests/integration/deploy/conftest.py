"""A stack with two api replicas and the nginx gateway in front of them (module scope)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.deploy.gateway import Gateway, nginx_binary, start_gateway
from tests.support.isolated_stack import isolated_stack
from tests.support.stack import Stack

GATEWAY_SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "3",
    "CATALOG_PROGRESS_TIMEOUT": "60",
}


def http_port(pid: int) -> int:
    """The HTTP port an api process listens on (each replica has its own, from its
    environment; its metrics port is the other one it listens on)."""
    process = psutil.Process(pid)
    port = int(process.environ()["API_HTTP_PORT"])
    listening = {
        conn.laddr.port
        for conn in process.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    }
    assert listening == {port, int(process.environ()["API_METRICS_PORT"])}, listening
    return port


@pytest.fixture(scope="module")
async def two_api_stack(
    rabbit_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The four services, plus a second api replica on its own port."""
    async with isolated_stack(
        rabbit_url,
        postgres_url,
        tmp_path_factory.mktemp("gateway-stack"),
        name="gw",
        settings=GATEWAY_SETTINGS,
    ) as stack:
        await asyncio.to_thread(stack.start, "api", replica=1)
        yield stack


def api_ports(stack: Stack) -> list[int]:
    return [http_port(p.pid) for p in stack.processes["api"]]


@pytest.fixture(scope="module")
def nginx() -> str:
    """The nginx binary; the gateway tests skip, saying why, where it is not installed."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx; `make test` installs it)")
    return binary


@pytest.fixture(scope="module")
def gateway(
    nginx: str, two_api_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """nginx with deploy/nginx/databasement.conf in front of both api replicas."""
    run: Path = tmp_path_factory.mktemp("nginx")
    started = start_gateway(nginx, run, api_ports(two_api_stack))
    yield started
    started.stop()
