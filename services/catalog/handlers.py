"""The catalog's subscribers: every event, every dead letter, and snapshot queries."""

from typing import Any
from uuid import UUID

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage

from services.catalog.announcer import announce
from services.catalog.deadletters import dead_letter_reason
from services.catalog.errors import UnknownEventError
from services.catalog.queries import answer_query
from services.catalog.records import fail_snapshot, record_event
from services.catalog.restore_records import fail_restore_now
from services.catalog.settings import CatalogSettings
from shared.events import EVENTS_BY_KEY, Event, utc_now
from shared.logging import get_logger
from shared.queries import QueryRefused, Reply
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
    schema = settings.schema_name

    @broker.subscriber(
        topology.queue("catalog"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="catalog.events",
        description="Every event, folded into snapshot records.",
    )
    async def on_event(body: dict[str, Any], message: RabbitMessage) -> None:
        event = parse_event(message.raw_message.routing_key or "", body)
        await apply_event(runtime, schema, event)

    @broker.subscriber(
        topology.dead_letter_watch,
        topology.dead_letters,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="catalog.deadletters",
        description="Every dead letter: its snapshot fails with the reason it was given up.",
    )
    async def on_dead_letter(body: Any, message: RabbitMessage) -> None:
        snapshot_id = _snapshot_id(body)
        if snapshot_id is None:
            log.warning("dead_letter_without_snapshot")
            return
        reason = dead_letter_reason(
            dict(message.headers or {}),
            namespace=topology.namespace,
            delivery_limit=topology.delivery_limit,
            message_type=message.raw_message.type,
        )
        restore_id = _uuid(body, "restore_id")
        if restore_id is not None:
            # A restore's message: the restore fails, its snapshot stays as it is.
            await fail_restore_now(
                runtime.pool, schema, restore_id, snapshot_id, reason, now=utc_now()
            )
            return
        change = await fail_snapshot(runtime.pool, schema, snapshot_id, reason, now=utc_now())
        log.warning("snapshot_given_up", snapshot_id=str(snapshot_id), reason=reason)
        await announce(broker, topology, [change])

    @broker.subscriber(
        topology.catalog_queries,
        ack_policy=AckPolicy.REJECT_ON_ERROR,
        title="catalog.queries",
        description="get_snapshot / list_snapshots / get_restore / list_restores / ..., "
        "answered to the asker's reply queue.",
    )
    async def on_query(body: Any) -> Reply | QueryRefused:
        return await answer_query(runtime.pool, schema, body)


async def apply_event(runtime: Runtime, schema: str, event: Event) -> None:
    """Record `event` once and fold it into its snapshot; a redelivery changes nothing."""
    change = await record_event(runtime.pool, schema, event, now=utc_now())
    if change is None:
        log.info("event_recorded", event_type=type(event).__name__, snapshot_changed=False)
        return
    log.info(
        "event_recorded",
        event_type=type(event).__name__,
        snapshot_changed=True,
        status=change.after.status,
    )
    if runtime.broker is not None and runtime.topology is not None:
        await announce(runtime.broker, runtime.topology, [change])


def _snapshot_id(body: Any) -> UUID | None:
    return _uuid(body, "snapshot_id")


def _uuid(body: Any, key: str) -> UUID | None:
    if not isinstance(body, dict) or body.get(key) is None:
        return None
    try:
        return UUID(str(body.get(key)))
    except ValueError:
        return None
