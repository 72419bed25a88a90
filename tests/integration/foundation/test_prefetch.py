"""A subscriber's own prefetch holds even though the topology was declared before it started.

FastStream caches a declared queue with the channel it was declared on; if declare_topology
went through the broker, the work queue's subscriber would consume on that channel without
its prefetch, and one dumper replica would take every queued backup.
"""

import asyncio
from uuid import uuid4

import aio_pika
import pytest
from faststream import AckPolicy
from faststream.rabbit import Channel

from shared.events import SnapshotCancelRequested
from shared.messaging import publish_event
from shared.topology import Topology, declare_topology
from tests.integration.foundation.conftest import broker_settings, eventually, make_broker

pytestmark = pytest.mark.integration


async def ready_count(amqp: aio_pika.abc.AbstractChannel, name: str) -> int:
    declared = await amqp.declare_queue(name, passive=True)
    return declared.declaration_result.message_count or 0


class TestPrefetch:
    async def test_a_prefetch_of_one_leaves_the_rest_queued_for_other_replicas(
        self, rabbit_url, namespace, topology: Topology, amqp
    ):
        broker = make_broker(broker_settings(rabbit_url, namespace, delivery_limit=2))
        release = asyncio.Event()
        taken: list[str] = []

        @broker.subscriber(
            topology.queue("dumper"),
            topology.events,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            channel=Channel(prefetch_count=1),
        )
        async def slow(body: dict[str, object]) -> None:
            taken.append(str(body["snapshot_id"]))
            await release.wait()

        async with broker:
            await broker.connect()
            await declare_topology(broker, topology)
            await broker.start()
            for _ in range(3):
                await publish_event(
                    broker,
                    topology,
                    SnapshotCancelRequested(snapshot_id=uuid4(), reason="test"),
                )
            await eventually(lambda: asyncio.sleep(0, taken), lambda t: len(t) == 1)
            await asyncio.sleep(0.5)
            held = len(taken)
            queued = await ready_count(amqp, topology.queue("dumper").name)
            release.set()
            await eventually(lambda: asyncio.sleep(0, taken), lambda t: len(t) == 3)

        assert held == 1
        assert queued == 2
