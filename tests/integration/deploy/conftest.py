"""A stack with two api replicas and the nginx gateway in front of them (module scope)."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from tests.fixtures.resources import database_url, delete_namespace, unique
from tests.integration.deploy.gateway import Gateway, nginx_binary, start_gateway
from tests.support.stack import Stack, stack_env, start_stack

GATEWAY_SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "3",
    "CATALOG_PROGRESS_TIMEOUT": "60",
}


def listening_port(pid: int) -> int:
    """The TCP port a process listens on (the second api picks a free one itself)."""
    ports = [
        conn.laddr.port
        for conn in psutil.Process(pid).net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    ]
    assert len(ports) == 1, ports
    return ports[0]


@pytest.fixture(scope="module")
async def gateway_database(postgres_url: str) -> AsyncIterator[str]:
    name = unique("dbm_gw_")
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(postgres_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
async def gateway_namespace(rabbit_url: str) -> AsyncIterator[str]:
    name = unique("gw")
    yield name
    await delete_namespace(rabbit_url, name)


@pytest.fixture(scope="module")
def two_api_stack(
    gateway_namespace: str, gateway_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The four services, plus a second api replica on its own port."""
    root = tmp_path_factory.mktemp("gateway-stack")
    env = stack_env(
        namespace=gateway_namespace,
        database_url=gateway_database,
        staging=root / "staging",
        extra=GATEWAY_SETTINGS,
    )
    stack = start_stack(env, root / "logs")
    try:
        stack.start("api", replica=1)
        yield stack
    finally:
        stack.stop()


def api_ports(stack: Stack) -> list[int]:
    return [listening_port(p.pid) for p in stack.processes["api"]]


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
