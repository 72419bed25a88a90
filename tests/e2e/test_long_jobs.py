"""Backups and restores that outlive the broker's consumer timeout run once and complete.

The stack runs on a private RabbitMQ node whose consumer timeout is 5 s: the broker closes the
dumper's channel under each running job and redelivers its request. The job goes on, the
redelivery is parked while the job's lease is live, and dropped once the job has finished.
The dump is held by a lock on its source table; the restore by a CHECK constraint that
sleeps per row in restored copies only.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared.topology import Topology
from tests.e2e.client import Api
from tests.e2e.sources import postgres_fingerprint
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, scratch_pg_database, unique
from tests.support.isolated_stack import isolated_stack
from tests.support.private_rabbit import PrivateRabbit, rabbit_available, short_consumer_timeout
from tests.support.stack import Stack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not rabbit_available(), reason="needs rabbitmq-server"),
]

CONSUMER_TIMEOUT_MS = 5000
RESTORED_PREFIX = "dbm_slowrestore_"
SOURCE_PREFIX = "dbm_longsrc_"
ROWS = 400
SOURCE_SQL = f"""
CREATE FUNCTION slow_in_restores(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- Slow anywhere but in the source: a restore writes into a work database of its own
    -- before it takes the target's name.
    IF current_database() NOT LIKE '{SOURCE_PREFIX}%' THEN
        PERFORM pg_sleep(0.02);  -- {ROWS} rows: a restore takes 8 s at least
    END IF;
    RETURN true;
END $$;
CREATE TABLE items (id int PRIMARY KEY CHECK (slow_in_restores(id)), label text NOT NULL);
INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, {ROWS}) AS i;
"""
SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "3",
    "DUMPER_MIN_PART_SIZE": str(5 * 1024 * 1024),
    "DUMPER_BLOCK_SIZE": str(1024 * 1024),
    # Two slots, so the redelivered backup gets past its server's slot to the job lease.
    "DUMPER_SERVER_CONCURRENCY": "2",
    "DUMPER_LEASE_RECHECK_DELAY": "1",
    "CATALOG_PROGRESS_TIMEOUT": "120",
    "API_RETENTION_INTERVAL": "0",
}


class EventLog:
    """Every event published on the stack's exchange, as (type, body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def of(self, kind: str, **match: str) -> list[dict[str, Any]]:
        return [
            body
            for seen_kind, body in self.seen
            if seen_kind == kind and all(body.get(k) == v for k, v in match.items())
        ]


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbit]:
    node = short_consumer_timeout(CONSUMER_TIMEOUT_MS)
    try:
        node.start()
        yield node
    finally:
        node.remove()


@pytest.fixture(scope="module")
async def long_stack(
    rabbit: PrivateRabbit, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("long-jobs")
    async with isolated_stack(
        rabbit.url,
        postgres_url,
        root,
        name="e2elong",
        settings={**SETTINGS, "BROKER_URL": rabbit.url},
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def events(rabbit: PrivateRabbit, long_stack: Stack) -> AsyncIterator[EventLog]:
    log = EventLog()
    topology = Topology(long_stack.env["BROKER_NAMESPACE"], delivery_limit=3)
    connection = await aio_pika.connect_robust(rabbit.url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        topology.events.name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="#")

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        log.seen.append((message.type or "", json.loads(message.body)))
        await message.ack()

    await queue.consume(collect)
    yield log
    await connection.close()


@pytest.fixture(scope="module")
async def api(long_stack: Stack) -> AsyncIterator[Api]:
    client = Api(long_stack.api_url, long_stack.token)
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def source(postgres_url: str) -> AsyncIterator[str]:
    async with scratch_pg_database(postgres_url, SOURCE_PREFIX, sql=SOURCE_SQL) as name:
        yield name


@pytest.fixture
async def target(postgres_url: str) -> AsyncIterator[str]:
    name = unique(RESTORED_PREFIX)
    yield name
    drop_pg_database_later(postgres_url, name)


async def wait_logged(stack: Stack, *needles: str, timeout: float = 60) -> None:
    """Until one line of the stack's logs holds every needle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = stack.logs().splitlines()
        if any(all(n in line for n in needles) for line in lines):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no log line with {needles} after {timeout}s")


def dumper_errors(stack: Stack) -> list[str]:
    """The dumper's log lines at level error or critical (a failed ack would be critical)."""
    lines = (stack.log_dir / "dumper-0.log").read_text(errors="replace").splitlines()
    return [line for line in lines if '"level": "error"' in line or '"level": "critical"' in line]


async def dumper_dead_letters(rabbit: PrivateRabbit, stack: Stack) -> int:
    topology = Topology(stack.env["BROKER_NAMESPACE"], delivery_limit=3)
    connection = await aio_pika.connect(rabbit.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.dead_letter_queue("dumper").name, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await connection.close()


class TestJobsLongerThanTheConsumerTimeout:
    async def test_a_backup_held_past_the_timeout_dumps_once_and_completes(
        self, api, long_stack, events, rabbit, postgres_url, source, tmp_path
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(tmp_path)
        lock = await asyncpg.connect(database_url(postgres_url, source))
        try:
            await lock.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            [pending] = await api.backup(server["id"], source, volume["id"])
            # The broker gave up on the delivery, and its redelivery found the job running.
            await wait_logged(long_stack, '"delivery_lost_job_continues"', pending["id"])
            await wait_logged(long_stack, '"backup_postponed"', '"running"', pending["id"])
        finally:
            await lock.execute("ROLLBACK")
            await lock.close()

        snapshot = await api.wait_terminal(pending["id"], timeout=180)

        assert snapshot["status"] == "completed", snapshot.get("error")
        assert len(events.of("DumpStarted", snapshot_id=pending["id"])) == 1
        assert len(events.of("DumpFinished", snapshot_id=pending["id"])) == 1
        assert events.of("DumpFailed", snapshot_id=pending["id"]) == []
        assert (Path(tmp_path) / snapshot["path"]).is_file()
        assert await dumper_dead_letters(rabbit, long_stack) == 0
        assert dumper_errors(long_stack) == []

    async def test_a_restore_slower_than_the_timeout_restores_once_and_completes(
        self, api, long_stack, events, rabbit, postgres_url, source, target, tmp_path
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(tmp_path)
        [pending] = await api.backup(server["id"], source, volume["id"])
        snapshot = await api.wait_terminal(pending["id"], timeout=180)
        assert snapshot["status"] == "completed", snapshot.get("error")

        accepted = await api.restore(snapshot["id"], server["id"], target)
        await wait_logged(long_stack, '"restore_postponed"', '"running"', snapshot["id"])
        record = await api.wait_restore(accepted["id"], timeout=180)

        assert record["status"] == "completed", record.get("error")
        assert len(events.of("RestoreStarted", restore_id=accepted["id"])) == 1
        assert len(events.of("RestoreFinished", restore_id=accepted["id"])) == 1
        assert events.of("RestoreFailed", restore_id=accepted["id"]) == []
        assert await postgres_fingerprint(
            database_url(postgres_url, target)
        ) == await postgres_fingerprint(database_url(postgres_url, source))
        assert await dumper_dead_letters(rabbit, long_stack) == 0
        assert dumper_errors(long_stack) == []
