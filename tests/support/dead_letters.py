"""Raw AMQP helpers: publish a body no producer would send, read a dead-letter queue."""

import asyncio
import json
import time
from typing import Any
from uuid import uuid4

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from shared.topology import Topology


async def publish_raw(
    rabbit_url: str,
    topology: Topology,
    routing_key: str,
    body: bytes,
    *,
    content_type: str = "application/json",
) -> str:
    """Publish `body` to the events exchange as-is; returns its message id."""
    message_id = str(uuid4())
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.events.name)
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type=content_type,
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )
    return message_id


async def take_dead_letters(
    rabbit_url: str, queue_name: str, *, count: int, timeout: float = 20
) -> list[AbstractIncomingMessage]:
    """Wait until `count` messages are in `queue_name`, take them off and return them."""
    taken: list[AbstractIncomingMessage] = []
    deadline = time.monotonic() + timeout
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name, ensure=True)
        while len(taken) < count and time.monotonic() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
            else:
                taken.append(message)
    return taken


def raw_body(value: bytes | dict[str, Any]) -> bytes:
    """A message body as it goes on the wire: bytes as they are, a dict as its JSON."""
    return value if isinstance(value, bytes) else json.dumps(value).encode()


async def publish_expecting_rejection(
    rabbit_url: str, topology: Topology, service: str, routing_key: str, body: bytes
) -> AbstractIncomingMessage:
    """Publish `body` as-is and take it from `service`'s dead-letter queue, where it must be
    alone and rejected on its first delivery (never requeued)."""
    message_id = await publish_raw(rabbit_url, topology, routing_key, body)
    dead = await take_dead_letters(rabbit_url, topology.dead_letter_queue(service).name, count=1)
    assert [m.message_id for m in dead] == [message_id], "not dead-lettered alone"
    assert dead[0].headers["x-first-death-reason"] == "rejected"
    assert dead[0].headers.get("x-delivery-count", 0) == 0, "requeued before it was rejected"
    return dead[0]


def rejections(logs: list[dict[str, Any]], routing_key: str) -> list[dict[str, Any]]:
    """The `event_rejected` log lines of `routing_key`'s work queue (a dead-letter watch may
    reject its own copy too, under another key)."""
    return [
        line
        for line in logs
        if line["event"] == "event_rejected" and line["routing_key"] == routing_key
    ]
