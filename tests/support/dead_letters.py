"""Raw AMQP helpers: publish a body no producer would send, read a dead-letter queue."""

import asyncio
import time
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
