"""The broker topology, declared in one place (STYLE.md rule 7).

One topic exchange carries every event. Each consuming service has one durable quorum queue
bound to the routing keys it handles; a message redelivered `delivery_limit` times is
dead-lettered to that service's DLQ. The catalog also watches every dead letter, so a
request that was given up on ends Failed with a reason instead of vanishing.
"""

from dataclasses import dataclass
from typing import Any, Literal

from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType

from shared.events import (
    BackupRequested,
    ChunkStaged,
    DumpFailed,
    DumpFinished,
    Event,
    KeysRewrapRequested,
    RestoreFailed,
    RestoreFinished,
    RestoreRequested,
    SnapshotCancelRequested,
    SnapshotDeleteRequested,
    SnapshotStatusChanged,
)

ServiceName = Literal["api", "dumper", "uploader", "catalog"]

CONSUMED_KEYS: dict[str, tuple[str, ...]] = {
    "dumper": (
        BackupRequested.routing_key,
        SnapshotCancelRequested.routing_key,
        RestoreRequested.routing_key,
        KeysRewrapRequested.routing_key,  # master-key rotation (docs/encryption.md)
    ),
    "uploader": (
        ChunkStaged.routing_key,
        DumpFinished.routing_key,
        DumpFailed.routing_key,
        SnapshotDeleteRequested.routing_key,
    ),
    "catalog": ("#",),
    "notifications": (  # the api's own queue: ends that may notify or run a hook
        SnapshotStatusChanged.routing_key,
        RestoreFinished.routing_key,
        RestoreFailed.routing_key,
    ),
}
"""Which routing keys each consuming service's queue is bound to."""

NOTIFICATIONS = "notifications"
"""The api's queue of snapshot and restore ends (see CONSUMED_KEYS)."""

QUERY_TTL_MS = 30_000
"""A catalog query nobody answered within this long is stale; the asker has given up."""


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue name of one stack, derived from its namespace."""

    namespace: str
    delivery_limit: int

    @property
    def events(self) -> RabbitExchange:
        return RabbitExchange(f"{self.namespace}.events", type=ExchangeType.TOPIC, durable=True)

    @property
    def dead_letters(self) -> RabbitExchange:
        return RabbitExchange(f"{self.namespace}.dlx", type=ExchangeType.TOPIC, durable=True)

    def queue(self, service: str) -> RabbitQueue:
        """The work queue of a consuming service, bound to its first routing key."""
        return RabbitQueue(
            f"{self.namespace}.{service}",
            durable=True,
            queue_type=QueueType.QUORUM,
            routing_key=CONSUMED_KEYS[service][0],
            arguments=self._queue_arguments(service),
        )

    def _queue_arguments(self, service: str) -> Any:
        return {
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letters.name,
            "x-dead-letter-routing-key": service,
        }

    def dead_letter_queue(self, service: str) -> RabbitQueue:
        """Where `service`'s given-up messages wait for an operator."""
        return RabbitQueue(
            f"{self.namespace}.{service}.dlq",
            durable=True,
            queue_type=QueueType.QUORUM,
            routing_key=service,
        )

    @property
    def dead_letter_watch(self) -> RabbitQueue:
        """The catalog's copy of every dead letter, to fail the snapshot with a reason."""
        return RabbitQueue(
            f"{self.namespace}.catalog.deadletters",
            durable=True,
            queue_type=QueueType.QUORUM,
            routing_key="#",
        )

    @property
    def catalog_queries(self) -> RabbitQueue:
        """Request/reply queue the catalog answers snapshot queries on."""
        return self._query_queue("catalog")

    @property
    def dumper_queries(self) -> RabbitQueue:
        """Request/reply queue the dumper answers on (list databases, test a connection)."""
        return self._query_queue("dumper")

    @property
    def uploader_queries(self) -> RabbitQueue:
        """Request/reply queue the uploader answers on (test a volume, its free space)."""
        return self._query_queue("uploader")

    @property
    def dumper_postponed(self) -> RabbitQueue:
        """Backups whose database server was busy wait here, then go back to the dumper.

        Each message carries its own expiration; on expiry the queue dead-letters it through
        the default exchange straight into the dumper's work queue. It comes back without
        counting as a failed delivery, as a nack would against the quorum queue's
        x-delivery-limit, and without a replica holding it.
        """
        return RabbitQueue(
            f"{self.namespace}.dumper.postponed",
            durable=True,
            arguments={
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue("dumper").name,
            },
        )

    def dumper_control(self, replica: str) -> RabbitQueue:
        """One dumper replica's own queue for cancellations: every replica gets each one.

        Exclusive and auto-deleted: it lives exactly as long as the replica's connection.
        """
        return RabbitQueue(
            f"{self.namespace}.dumper.control.{replica}",
            exclusive=True,
            auto_delete=True,
            routing_key=SnapshotCancelRequested.routing_key,
        )

    def _query_queue(self, service: str) -> RabbitQueue:
        return RabbitQueue(
            f"{self.namespace}.{service}.queries",
            durable=True,
            arguments={"x-message-ttl": QUERY_TTL_MS},
        )

    def all_queue_names(self) -> list[str]:
        """Every queue of this namespace, for clean-up in tests and `make down`."""
        names = [
            self.catalog_queries.name,
            self.dumper_queries.name,
            self.uploader_queries.name,
            self.dead_letter_watch.name,
            self.dumper_postponed.name,
        ]
        for service in CONSUMED_KEYS:
            names += [self.queue(service).name, self.dead_letter_queue(service).name]
        return names


async def declare_topology(broker: RabbitBroker, topology: Topology) -> None:
    """Declare exchanges, queues, DLQs and every binding; safe to run from every replica.

    It declares on a channel of its own, not through the broker's declarer: FastStream caches
    a declared queue together with the channel it was declared on, and a subscriber starting
    later on the same queue would then consume on that channel, without its own prefetch.
    The dumper's prefetch of 1 was silently lost that way, and one replica took every backup.
    """
    connection = await broker.connect()
    channel = await connection.channel()
    try:
        events = await _exchange(channel, topology.events)
        dlx = await _exchange(channel, topology.dead_letters)
        for service, keys in CONSUMED_KEYS.items():
            queue = await _queue(channel, topology.queue(service))
            for key in keys:
                await queue.bind(events, routing_key=key)
            dead = await _queue(channel, topology.dead_letter_queue(service))
            await dead.bind(dlx, routing_key=service)
        watch = await _queue(channel, topology.dead_letter_watch)
        await watch.bind(dlx, routing_key="#")
        for queue_spec in (
            topology.catalog_queries,
            topology.dumper_queries,
            topology.uploader_queries,
            topology.dumper_postponed,
        ):
            await _queue(channel, queue_spec)
    finally:
        await channel.close()


async def _exchange(channel: AbstractChannel, exchange: RabbitExchange) -> AbstractExchange:
    return await channel.declare_exchange(
        exchange.name, type=exchange.type.value, durable=exchange.durable
    )


async def _queue(channel: AbstractChannel, queue: RabbitQueue) -> AbstractQueue:
    return await channel.declare_queue(
        queue.name,
        durable=queue.durable,
        exclusive=queue.exclusive,
        auto_delete=queue.auto_delete,
        arguments=queue.arguments,
    )


def routing_key_of(event: Event) -> str:
    """The topic an event is published under."""
    return type(event).routing_key
