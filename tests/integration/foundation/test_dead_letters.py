"""A message whose handler keeps raising is dead-lettered after the configured deliveries."""

import asyncio
import json
from uuid import uuid4

import aio_pika
import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitMessage

from shared.events import ChunkStaged, Destination, chunk_key
from shared.messaging import publish_event
from shared.topology import Topology, declare_topology
from tests.integration.foundation.conftest import broker_settings, eventually, make_broker

pytestmark = pytest.mark.integration


def chunk_staged() -> ChunkStaged:
    snapshot_id, attempt_id = uuid4(), uuid4()
    return ChunkStaged(
        snapshot_id=snapshot_id,
        attempt_id=attempt_id,
        seq=0,
        raw_size=10,
        size=5,
        sha256="ab" * 32,
        staged_key=chunk_key(snapshot_id, attempt_id, 0),
        destination=Destination(
            volume_id=uuid4(), volume="sealed", artifact_key="s/d/a.sql.gz", compression="gzip"
        ),
    )


async def get_one(
    channel: aio_pika.abc.AbstractChannel, queue_name: str
) -> aio_pika.abc.AbstractIncomingMessage | None:
    queue = await channel.get_queue(queue_name, ensure=True)
    # basic.get's own 5 s default is no bound on a loaded broker; the caller's deadline is.
    return await queue.get(no_ack=True, fail=False, timeout=None)


class TestDeadLetters:
    async def test_always_failing_handler_dead_letters_after_delivery_limit(
        self, rabbit_url, namespace, topology: Topology, amqp
    ):
        broker = make_broker(broker_settings(rabbit_url, namespace, delivery_limit=2))
        calls: list[bool] = []

        @broker.subscriber(
            topology.queue("uploader"), topology.events, ack_policy=AckPolicy.NACK_ON_ERROR
        )
        async def always_fails(body: dict[str, object], message: RabbitMessage) -> None:
            calls.append(message.raw_message.redelivered)
            raise RuntimeError("handler keeps failing")

        event = chunk_staged()
        async with broker:
            await declare_topology(broker, topology)
            await broker.start()
            await publish_event(broker, topology, event)

            dead = await eventually(
                lambda: get_one(amqp, topology.dead_letter_queue("uploader").name),
                lambda message: message is not None,
            )
            # Give a wrongly configured queue the chance to deliver once more.
            await asyncio.sleep(0.3)

        # A quorum queue counts returned deliveries; the message is dead-lettered once the
        # count exceeds x-delivery-limit, so the handler runs delivery_limit + 1 times.
        assert len(calls) == topology.delivery_limit + 1
        assert calls[0] is False
        assert all(calls[1:])
        assert dead is not None
        assert json.loads(dead.body)["event_id"] == str(event.event_id)
        assert dead.message_id == str(event.event_id)
        assert dead.headers.get("x-first-death-reason") == "delivery_limit"
        assert dead.headers.get("x-first-death-queue") == topology.queue("uploader").name

        watched = await get_one(amqp, topology.dead_letter_watch.name)
        assert watched is not None
        assert json.loads(watched.body)["event_id"] == str(event.event_id)
        assert await get_one(amqp, topology.queue("uploader").name) is None
