"""Questions over RabbitMQ's direct reply-to, many in flight at once on one consumer.

FastStream's `broker.request` takes one lock per process for each question and consumes and
cancels the reply queue around it, so an api asked one question at a time: a dumper slow to
list databases held every catalog listing (and the web UI's pages) behind it. Here one
consumer on `amq.rabbitmq.reply-to` lives as long as the broker's channel (aio-pika's robust
channel restores it after a reconnect), and each reply finds its question by correlation id.
"""

import asyncio
import json
import uuid
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.schemas import RABBIT_REPLY


class UnreadableReplyError(ValueError):
    """A reply arrived that is not a JSON document."""


class Questions:
    """Sends questions to a queue and hands each reply to the question that waits for it."""

    def __init__(self, broker: RabbitBroker) -> None:
        self._broker = broker
        self._waiting: dict[str, asyncio.Future[AbstractIncomingMessage]] = {}
        self._consuming = False

    async def start(self) -> None:
        """Consume the reply pseudo-queue on the channel questions are published on (the
        broker's default channel: direct reply-to answers only on the asking channel)."""
        if self._consuming:
            return
        replies = await self._broker.declare_queue(RABBIT_REPLY)
        await replies.consume(self._on_reply, no_ack=True)
        self._consuming = True

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        waiting = self._waiting.get(message.correlation_id or "")
        # A reply nobody waits for any more (its question timed out) is dropped.
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    async def ask(self, queue: RabbitQueue, body: dict[str, Any], *, within: float) -> Any:
        """The decoded reply to `body` sent to `queue`; TimeoutError when none comes `within`
        seconds."""
        correlation_id = uuid.uuid4().hex
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = waiting
        try:
            async with asyncio.timeout(within):
                await self._broker.publish(
                    body, queue=queue, reply_to=RABBIT_REPLY.name, correlation_id=correlation_id
                )
                reply = await waiting
        finally:
            del self._waiting[correlation_id]
        try:
            return json.loads(reply.body)
        except ValueError:
            raise UnreadableReplyError("the reply is not JSON") from None
