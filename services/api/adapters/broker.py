"""The api's link to RabbitMQ: publishing, and asking the catalog and the dumper.

The link may come up after the api does: requests are accepted into the outbox meanwhile,
and queries answer 503 with a sentence until the broker is reachable.
"""

import asyncio
from typing import Any

from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from faststream.rabbit import RabbitBroker, RabbitQueue

from services.api.adapters.replies import Questions, UnreadableReplyError
from services.api.errors import UnavailableError
from shared.events import (
    BackupRequested,
    Event,
    KeysRewrapRequested,
    RestoreRequested,
    SnapshotCancelRequested,
    SnapshotDeleteRequested,
    SnapshotLockChanged,
    SnapshotWarned,
)
from shared.logging import get_logger
from shared.messaging import EventPublishers
from shared.topology import Topology, declare_topology

log = get_logger(__name__)

PUBLISHES: tuple[type[Event], ...] = (
    BackupRequested,
    SnapshotDeleteRequested,
    SnapshotCancelRequested,
    SnapshotLockChanged,
    SnapshotWarned,
    RestoreRequested,
    KeysRewrapRequested,
)
"""The events the api publishes (through its outbox), each through its declared publisher."""

RETRY_SECONDS = 2.0
BROKER_DROPPED = (AMQPError, ChannelInvalidStateError, ConnectionError)


class BrokerLink:
    """Connects (and keeps trying to), publishes with confirms, and asks over request/reply."""

    def __init__(self, broker: RabbitBroker, topology: Topology, *, query_timeout: float) -> None:
        self.broker = broker
        self.topology = topology
        self.query_timeout = query_timeout
        self.publishers = EventPublishers(broker, topology, PUBLISHES)
        self.questions = Questions(broker)
        self.ready = asyncio.Event()

    async def connect(self) -> bool:
        """Try once to connect and declare the topology; False when the broker is away."""
        try:
            await self.broker.start()
            await declare_topology(self.broker, self.topology)
            await self.questions.start()
        except Exception as exc:  # aio-pika raises several types for "not reachable"
            log.warning("broker_unreachable", error=type(exc).__name__)
            return False
        self.ready.set()
        log.info("broker_connected")
        return True

    async def keep_connecting(self) -> None:
        """Retry until connected; run as a background task when the first try failed."""
        while not await self.connect():  # noqa: ASYNC110 - polling a remote broker; no local event
            await asyncio.sleep(RETRY_SECONDS)

    async def close(self) -> None:
        self.ready.clear()
        await self.broker.stop()

    async def publish(self, event: Event) -> None:
        """Publish persistently and wait for the broker's confirm."""
        if not self.ready.is_set():
            raise UnavailableError("the message broker is not reachable yet")
        await self.publishers.publish(event)

    async def ask(
        self, queue: RabbitQueue, body: dict[str, Any], *, who: str, wait: float | None = None
    ) -> dict[str, Any]:
        """Send `body` to `queue` and wait for the reply; UnavailableError when none comes."""
        if not self.ready.is_set():
            raise UnavailableError(
                f"the message broker is not reachable, so the {who} cannot be asked"
            )
        timeout = wait or self.query_timeout
        try:
            reply = await self.questions.ask(queue, body, within=timeout)
        except TimeoutError:
            raise UnavailableError(f"the {who} did not answer within {timeout:g} s") from None
        except BROKER_DROPPED:
            # The broker restarted and the robust connection is still reopening its channels
            # (a 503 the client may retry, not a 500).
            raise UnavailableError(
                f"the message broker connection dropped, so the {who} cannot be asked;"
                " try again in a few seconds"
            ) from None
        except UnreadableReplyError:
            reply = None
        if not isinstance(reply, dict):
            raise UnavailableError(f"the {who} gave an answer that is not understood")
        return reply

    async def ask_catalog(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]:
        return await self.ask(self.topology.catalog_queries, body, who="catalog", wait=wait)

    async def ask_dumper(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]:
        return await self.ask(self.topology.dumper_queries, body, who="dumper", wait=wait)

    async def ask_uploader(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]:
        return await self.ask(self.topology.uploader_queries, body, who="uploader", wait=wait)
