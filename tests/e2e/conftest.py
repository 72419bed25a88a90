"""One real stack for the end-to-end tests: four service processes on the real servers.

The stack has its own broker namespace, database, staging directory and keys. While it runs,
every event on its exchange is captured and every process's argv is sampled, so tests can
prove no secret leaks into events, log lines or argv.
"""

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import psutil
import pytest

from shared.topology import Topology
from tests.e2e.client import Api
from tests.e2e.slow_source import SlowSource, slow_source
from tests.e2e.sources import load_mariadb, load_postgres
from tests.fixtures.resources import (
    MariaDB,
    database_url,
    delete_namespace,
    scratch_pg_database,
    unique,
)
from tests.support.stack import Stack, start_stack_at

E2E_SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "3",
    "DUMPER_MIN_PART_SIZE": str(5 * 1024 * 1024),
    "DUMPER_BLOCK_SIZE": str(1024 * 1024),
    "CATALOG_PROGRESS_TIMEOUT": "120",
    # No automatic retention pass in the shared stack: a test's dry run must stay one
    # (tests/e2e/test_retention.py starts its own replicas to test the pass).
    "API_RETENTION_INTERVAL": "0",
    # Four test processes each run a stack of four services (and some a second): at the
    # default 5 connections a process they would use up PostgreSQL's 100.
    "DATABASE_POOL_MAX": "3",
}

SHARED_HOOKS = """
[ui-audit]
argv = ["/bin/true"]
description = "Record the backup"
"""
"""The shared stack's operator hooks (the UI offers them; notifications/ tests run theirs)."""


class EventSpy:
    """Every message published on the stack's events exchange, as raw bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def events(self) -> list[dict[str, object]]:
        return [json.loads(b) for b in self.bodies]

    async def once_seen(
        self, matches: Callable[[dict[str, Any]], bool], *, timeout: float = 30
    ) -> list[dict[str, Any]]:
        """Every event so far, once one `matches`. The spy's queue is not the services' own:
        an outcome read through the api says nothing of what the spy has received yet."""
        async with asyncio.timeout(timeout):
            while not any(matches(event) for event in self.events()):
                await asyncio.sleep(0.05)
        return self.events()


class ArgvSampler(threading.Thread):
    """Samples every process's command line while the stack runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = proc.info.get("cmdline")
                if cmdline:
                    self.seen.add(" ".join(cmdline))
            time.sleep(0.02)


@pytest.fixture(scope="session")
async def e2e_database(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, "dbm_e2e_") as name:
        yield database_url(postgres_url, name)


@pytest.fixture(scope="session")
async def e2e_namespace(rabbit_url: str) -> AsyncIterator[str]:
    name = unique("e2e")
    yield name
    await delete_namespace(rabbit_url, name, extra_queues=(f"{name}.spy",))


@pytest.fixture(scope="session")
async def event_spy(rabbit_url: str, e2e_namespace: str) -> AsyncIterator[EventSpy]:
    spy = EventSpy()
    topology = Topology(e2e_namespace, delivery_limit=3)
    connection = await aio_pika.connect_robust(rabbit_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        topology.events.name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(f"{e2e_namespace}.spy", auto_delete=True)
    await queue.bind(exchange, routing_key="#")

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        spy.bodies.append(message.body)
        await message.ack()

    await queue.consume(collect)
    yield spy
    await connection.close()


@pytest.fixture(scope="session")
def argv_sampler() -> Iterator[ArgvSampler]:
    sampler = ArgvSampler()
    sampler.start()
    yield sampler
    sampler.stopping.set()
    sampler.join(timeout=5)


@pytest.fixture(scope="session")
def stack(
    e2e_namespace: str,
    e2e_database: str,
    event_spy: EventSpy,
    argv_sampler: ArgvSampler,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    hooks_file = tmp_path_factory.mktemp("hooks") / "hooks.toml"
    hooks_file.write_text(SHARED_HOOKS)
    with start_stack_at(
        tmp_path_factory.mktemp("stack"),
        namespace=e2e_namespace,
        database_url=e2e_database,
        settings={**E2E_SETTINGS, "API_HOOKS_FILE": str(hooks_file)},
    ) as running:
        yield running


@pytest.fixture
def volume_dir(tmp_path: Path) -> Path:
    """A local volume directory of this test's own."""
    path = tmp_path / f"volume-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    return path


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    client = Api(stack.api_url, stack.token)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def pg_source(postgres_url: str) -> AsyncIterator[str]:
    """A PostgreSQL source database with the rich schema, shared by the e2e tests."""
    async with scratch_pg_database(postgres_url, "dbm_src_") as name:
        await load_postgres(database_url(postgres_url, name))
        yield name


@pytest.fixture(scope="session")
def maria_source(mariadb: MariaDB) -> AsyncIterator[str]:
    name = unique("dbm_src_")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        load_mariadb(mariadb, name)
        yield name
    finally:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
async def slow_pg(postgres_url: str) -> AsyncIterator[SlowSource]:
    """A database of its own behind a proxy the test may slow down (tests/e2e/slow_source.py)."""
    async with slow_source(postgres_url) as source:
        yield source
