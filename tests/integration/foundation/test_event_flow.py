"""Events cross the real broker from one service to another, and a redelivery counts once."""

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import asyncpg
import pytest
from faststream import TestApp

from services.catalog.app import build_app
from services.catalog.settings import CatalogSettings
from shared.adapters.idempotency import handle_once, was_handled
from shared.events import DumpProgressed, DumpStarted, Event
from shared.messaging import publish_event
from shared.settings import DatabaseSettings
from shared.topology import Topology
from tests.integration.foundation.conftest import broker_settings, eventually, make_broker

pytestmark = pytest.mark.integration

SCHEMA = "catalog"


@pytest.fixture
async def catalog(rabbit_url, namespace, pg_database) -> AsyncIterator[asyncpg.Pool]:
    """The catalog's app running in this process; yields a pool onto its database."""
    settings = CatalogSettings(
        broker=broker_settings(rabbit_url, namespace),
        database=DatabaseSettings.model_validate({"url": pg_database}),
        http_port=0,
    )
    async with TestApp(build_app(settings)):
        pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=2)
        try:
            yield pool
        finally:
            await pool.close()


@pytest.fixture
async def dumper_broker(rabbit_url, namespace):
    """A broker built as the dumper builds its own, connected to the same namespace."""
    broker = make_broker(broker_settings(rabbit_url, namespace), service="dumper")
    async with broker:
        await broker.connect()
        yield broker


def dump_started(snapshot_id: UUID) -> DumpStarted:
    return DumpStarted(
        snapshot_id=snapshot_id,
        attempt_id=uuid4(),
        attempt=1,
        tool="pg_dump",
        tool_version="pg_dump 15",
        server_version="15",
    )


async def timeline(pool: asyncpg.Pool, snapshot_id: UUID) -> list[tuple[UUID, str]]:
    rows = await pool.fetch(
        f"SELECT event_id, event_type FROM {SCHEMA}.snapshot_events "
        "WHERE snapshot_id = $1 ORDER BY received_at",
        snapshot_id,
    )
    return [(row["event_id"], row["event_type"]) for row in rows]


class TestEventFlow:
    async def test_event_published_by_the_dumper_is_recorded_by_the_catalog(
        self, catalog, dumper_broker, namespace
    ):
        event = dump_started(uuid4())

        await publish_event(dumper_broker, Topology(namespace, 5), event)

        recorded = await eventually(
            lambda: timeline(catalog, event.snapshot_id),
            lambda rows: any(event_id == event.event_id for event_id, _ in rows),
        )
        assert (event.event_id, "DumpStarted") in recorded

    async def test_redelivered_event_is_recorded_once(self, catalog, dumper_broker, namespace):
        topology = Topology(namespace, 5)
        snapshot_id = uuid4()
        event = dump_started(snapshot_id)
        sentinel = DumpProgressed(
            snapshot_id=snapshot_id,
            attempt_id=event.attempt_id,
            bytes_dumped=1,
            bytes_compressed=1,
            chunks_staged=0,
        )

        await publish_event(dumper_broker, topology, event)
        await publish_event(dumper_broker, topology, event)
        await publish_event(dumper_broker, topology, sentinel)

        # The queue is FIFO with one consumer: once the sentinel is in, both copies were handled.
        recorded = await eventually(
            lambda: timeline(catalog, snapshot_id),
            lambda rows: any(event_id == sentinel.event_id for event_id, _ in rows),
        )
        assert [event_id for event_id, _ in recorded].count(event.event_id) == 1
        handled = await catalog.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.processed_events WHERE event_id = $1",
            event.event_id,
        )
        assert handled == 1


COUNTER_DDL = """
CREATE TABLE IF NOT EXISTS test_effects.processed_events (
    event_id uuid PRIMARY KEY, handled_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS test_effects.counter (n integer NOT NULL);
INSERT INTO test_effects.counter VALUES (0);
"""
INCREMENT = "UPDATE test_effects.counter SET n = n + 1"


@pytest.fixture
async def effects_pool(pg_database) -> AsyncIterator[asyncpg.Pool]:
    """A schema with a counter: a deliberately non-idempotent effect."""
    pool = await asyncpg.create_pool(pg_database, min_size=2, max_size=4)
    await pool.execute("CREATE SCHEMA test_effects")
    await pool.execute(COUNTER_DDL)
    try:
        yield pool
    finally:
        await pool.close()


async def apply(pool: asyncpg.Pool, event: Event) -> bool:
    async with handle_once(pool, schema="test_effects", event_id=event.event_id) as conn:
        if conn is None:
            return False
        await conn.execute(INCREMENT)
        return True


class TestHandleOnce:
    async def test_second_delivery_of_the_same_event_changes_nothing(self, effects_pool):
        event = dump_started(uuid4())

        assert await apply(effects_pool, event) is True
        assert await apply(effects_pool, event) is False

        assert await effects_pool.fetchval("SELECT n FROM test_effects.counter") == 1
        assert await was_handled(effects_pool, schema="test_effects", event_id=event.event_id)

    async def test_concurrent_deliveries_apply_the_effect_once(self, effects_pool):
        event = dump_started(uuid4())

        results = await asyncio.gather(*(apply(effects_pool, event) for _ in range(4)))

        assert sorted(results) == [False, False, False, True]
        assert await effects_pool.fetchval("SELECT n FROM test_effects.counter") == 1

    async def test_a_failed_effect_is_not_recorded_so_the_redelivery_applies_it(self, effects_pool):
        event = dump_started(uuid4())

        async def crash_after_the_effect() -> None:
            async with handle_once(
                effects_pool, schema="test_effects", event_id=event.event_id
            ) as conn:
                assert conn is not None
                await conn.execute(INCREMENT)
                raise RuntimeError("crashed before the ack")

        with pytest.raises(RuntimeError):
            await crash_after_the_effect()

        assert not await was_handled(effects_pool, schema="test_effects", event_id=event.event_id)
        assert await apply(effects_pool, event) is True
        assert await effects_pool.fetchval("SELECT n FROM test_effects.counter") == 1
