"""The catalog's subscribers: every event on the exchange, recorded once."""

from typing import Any

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage

from services.catalog.adapters.db import record_timeline
from services.catalog.errors import UnknownEventError
from services.catalog.settings import CatalogSettings
from shared.events import EVENTS_BY_KEY, Event
from shared.idempotency import handle_once
from shared.logging import get_logger
from shared.service import Runtime
from shared.topology import Topology

log = get_logger(__name__)


def parse_event(routing_key: str, body: Any) -> Event:
    """The typed event for a message, chosen by its routing key."""
    event_type = EVENTS_BY_KEY.get(routing_key)
    if event_type is None:
        raise UnknownEventError(f"no event is published under routing key {routing_key!r}")
    return event_type.model_validate(body)


def register(
    broker: RabbitBroker, topology: Topology, runtime: Runtime, settings: CatalogSettings
) -> None:
    """Attach the catalog's subscribers to `broker`."""

    @broker.subscriber(
        topology.queue("catalog"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="catalog.events",
        description="Every event, folded into snapshot records.",
    )
    async def on_event(body: dict[str, Any], message: RabbitMessage) -> None:
        event = parse_event(message.raw_message.routing_key or "", body)
        await apply_event(runtime, settings.schema_name, event)


async def apply_event(runtime: Runtime, schema: str, event: Event) -> None:
    """Record `event` once; a redelivery changes nothing."""
    async with handle_once(runtime.pool, schema=schema, event_id=event.event_id) as conn:
        if conn is None:
            log.info("event_skipped_duplicate", event_type=type(event).__name__)
            return
        await record_timeline(conn, schema, event)
        log.info("event_recorded", event_type=type(event).__name__)
