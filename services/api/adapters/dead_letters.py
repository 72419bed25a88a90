"""The dead-letter queues as an operator sees them: list what is there, replay some of it.

AMQP has no "peek": a listing takes messages with basic.get, unacknowledged, and returns
them all at the end (nack with requeue). It holds every message it looked at until it is done,
so one pass never sees the same message twice. The DLQs have no delivery limit, so the
requeue loses nothing; it only raises their x-delivery-count. A replay publishes a copy to
the events exchange under the message's original routing key (from x-death), with publisher
confirms, and only then acks the dead letter: a crash in between leaves a duplicate, which
every consumer handles once, never a loss.
"""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from aio_pika.exceptions import AMQPError, DeliveryError

from services.api.errors import UnavailableError
from shared.events import EVENTS_BY_KEY
from shared.logging import get_logger
from shared.topology import Topology

log = get_logger(__name__)

EVENTS_BY_NAME = {event.__name__: event for event in EVENTS_BY_KEY.values()}

RETURN_POLLS = 40
RETURN_POLL_SECONDS = 0.05

DROPPED_ON_REPLAY = ("x-death", "x-first-death-reason", "x-first-death-queue")
"""Headers the broker wrote when the message died; the replayed copy starts clean."""


def dead_letter_id(message: AbstractIncomingMessage) -> str:
    """The message id our publishers set (the event id), else a digest of the body."""
    if message.message_id:
        return message.message_id
    return "sha256:" + hashlib.sha256(message.body).hexdigest()[:32]


def describe(message: AbstractIncomingMessage) -> dict[str, Any]:
    """What an operator needs to judge a dead letter, and nothing from the body but its ids."""
    headers = dict(message.headers or {})
    raw_deaths: Any = headers.get("x-death") or []
    deaths = [dict(d) for d in raw_deaths if isinstance(d, dict)]
    routing_key = original_routing_key(message)
    event = EVENTS_BY_KEY.get(routing_key or "")
    times = [d["time"] for d in deaths if isinstance(d.get("time"), datetime)]
    return {
        "id": dead_letter_id(message),
        "routing_key": routing_key,
        "event_type": message.type
        if message.type and message.type != "None"
        else (event.__name__ if event else None),
        "snapshot_id": _body_field(message.body, "snapshot_id"),
        "reason": str(
            headers.get("x-first-death-reason") or (deaths[0].get("reason") if deaths else "")
        ),
        "queue": str(headers.get("x-first-death-queue") or ""),
        "first_death_at": min(times) if times else None,
        "deaths": [
            {
                "queue": str(d.get("queue", "")),
                "reason": str(d.get("reason", "")),
                "count": int(d.get("count", 0) or 0),
                "time": d.get("time"),
                "exchange": str(d.get("exchange", "")),
                "routing_keys": [str(key) for key in d.get("routing-keys") or []],
            }
            for d in deaths
        ],
        "size": len(message.body),
    }


def original_routing_key(message: AbstractIncomingMessage) -> str | None:
    """The event's routing key: from its type (our publishers set it), else the first
    event key in x-death, oldest death first.

    The DLQ's own key only names the service, and a death's routing keys may be a queue's
    name (a postponed backup comes back through the default exchange).
    """
    event = EVENTS_BY_NAME.get(message.type or "")
    if event is not None:
        return event.routing_key
    deaths: Any = (message.headers or {}).get("x-death") or []
    for death in reversed(deaths):
        keys = death.get("routing-keys") if isinstance(death, dict) else None
        for key in keys or []:
            if str(key) in EVENTS_BY_KEY:
                return str(key)
    return None


def _body_field(body: bytes, name: str) -> str | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    value = decoded.get(name) if isinstance(decoded, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


@dataclass(frozen=True)
class Replayed:
    """What a replay did: published again, kept (nothing would receive them), not found."""

    replayed: list[str]
    unroutable: list[str]
    not_found: list[str]


class DeadLetterQueues:
    """Opens a connection per operation: operator calls are rare, and a channel error here
    must never touch the connection the api publishes requests on."""

    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology

    def queue_name(self, service: str) -> str:
        return self.topology.dead_letter_queue(service).name

    @asynccontextmanager
    async def _channel(self) -> AsyncIterator[AbstractChannel]:
        try:
            connection = await aio_pika.connect(self.url)
        except (OSError, AMQPError) as exc:
            raise UnavailableError("the message broker is not reachable") from exc
        async with connection:
            # on_return_raises: a replay nobody is bound to must fail, not vanish.
            yield await connection.channel(publisher_confirms=True, on_return_raises=True)

    async def peek(self, service: str, *, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(messages in the queue, up to `limit` of them described), oldest first."""
        async with self._channel() as channel:
            queue = await channel.get_queue(self.queue_name(service), ensure=True)
            declared = await channel.declare_queue(queue.name, passive=True)
            total = declared.declaration_result.message_count or 0
            held = await _take(queue, min(limit, total))
            try:
                return total, [describe(message) for message in held]
            finally:
                for message in held:
                    await message.nack(requeue=True)
                await _until_ready(channel, queue.name, total)

    async def replay(self, service: str, ids: Collection[str] | None) -> "Replayed":
        """Replay the dead letters named by `ids` (all of them when None)."""
        replayed: list[str] = []
        unroutable: list[str] = []
        settled: set[int | None] = set()
        async with self._channel() as channel:
            queue = await channel.get_queue(self.queue_name(service), ensure=True)
            declared = await channel.declare_queue(queue.name, passive=True)
            held = await _take(queue, declared.declaration_result.message_count or 0)
            events = await channel.get_exchange(self.topology.events.name, ensure=False)
            try:
                for message in held:
                    message_id = dead_letter_id(message)
                    if ids is not None and message_id not in ids:
                        continue
                    routing_key = original_routing_key(message)
                    if routing_key is None or not await _publish(events, message, routing_key):
                        log.warning("dead_letter_not_replayable", id=message_id)
                        unroutable.append(message_id)
                        continue
                    await message.ack()
                    settled.add(message.delivery_tag)
                    replayed.append(message_id)
                    log.info(
                        "dead_letter_replayed",
                        id=message_id,
                        service=service,
                        routing_key=routing_key,
                    )
            finally:
                for message in held:
                    if message.delivery_tag not in settled:
                        await message.nack(requeue=True)
                await _until_ready(channel, queue.name, len(held) - len(settled))
        missing = sorted(set(ids or ()) - set(replayed) - set(unroutable))
        return Replayed(replayed, unroutable, missing)


async def _publish(
    events: AbstractExchange, message: AbstractIncomingMessage, routing_key: str
) -> bool:
    """Publish a copy, mandatory: False when no queue is bound to its routing key."""
    try:
        await events.publish(_copy(message), routing_key=routing_key, mandatory=True)
    except DeliveryError:
        return False
    return True


async def _take(queue: Any, count: int) -> list[AbstractIncomingMessage]:
    held: list[AbstractIncomingMessage] = []
    while len(held) < count:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        held.append(message)
    return held


async def _until_ready(channel: AbstractChannel, name: str, count: int) -> None:
    """Wait (briefly) until the returned messages are ready again.

    A quorum queue takes returns asynchronously: without this, a listing right after another
    one could miss the messages the first is still handing back.
    """
    for _ in range(RETURN_POLLS):
        declared = await channel.declare_queue(name, passive=True)
        if (declared.declaration_result.message_count or 0) >= count:
            return
        await asyncio.sleep(RETURN_POLL_SECONDS)


def _copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in DROPPED_ON_REPLAY}
    headers.pop("x-delivery-count", None)
    headers["x-replayed-from-dlq"] = True
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        type=message.type,
        app_id=message.app_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
