"""The catalog's subscribers: every event, every dead letter, and snapshot queries."""

from typing import Annotated, Any

from faststream import AckPolicy, Context
from faststream.rabbit import Channel, RabbitMessage, RabbitRouter

from services.catalog.announcer import announce
from services.catalog.deadletters import DeadLetter, dead_letter_reason
from services.catalog.queries import answer_query
from services.catalog.recording import record_event
from services.catalog.restores.records import fail_restore_now
from services.catalog.settings import CatalogSettings
from services.catalog.snapshots.records import fail_snapshot
from shared.events import ALL_EVENTS, Event, SnapshotStatusChanged, utc_now
from shared.logging import get_logger
from shared.messaging import DbPool, Publishers, documented_as, subscribe_each
from shared.queries import CatalogQuery, QueryRefused, Reply
from shared.topology import Topology

log = get_logger(__name__)

PUBLISHES: tuple[type[Event], ...] = (SnapshotStatusChanged,)
"""The events the catalog publishes, each through its declared publisher."""

Settings = Annotated[CatalogSettings, Context("settings")]


QUERY_PREFETCH = 16
"""Queries in hand at once, on a channel of their own."""


def event_prefetch(pool_max: int) -> int:
    """Events folded at once: one connection fewer than the pool has, so a query always finds
    a free one. Without a bound the broker hands over the whole backlog (thousands of tasks
    after a burst), and a query waited for a connection behind all of them."""
    return max(1, pool_max - 1)


def build_router(topology: Topology, settings: CatalogSettings) -> RabbitRouter:
    """The catalog's subscribers, on the queues of `topology`."""
    router = RabbitRouter()
    folding = Channel(prefetch_count=event_prefetch(settings.database.pool_max))

    events = router.subscriber(
        topology.queue("catalog"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        channel=folding,
        title="catalog.events",
        description="Every event, folded into snapshot records.",
    )
    # One typed handler per event, chosen by routing key: a key no event is published
    # under finds no handler and is rejected (shared/rejection.py).
    subscribe_each(events, ALL_EVENTS, fold_event)

    @router.subscriber(
        topology.dead_letter_watch,
        topology.dead_letters,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        channel=Channel(prefetch_count=1),
        title="catalog.deadletters",
        description="Every dead letter: its snapshot fails with the reason it was given up.",
    )
    async def on_dead_letter(
        letter: DeadLetter,
        message: RabbitMessage,
        pool: DbPool,
        settings: Settings,
        publishers: Publishers,
    ) -> None:
        if letter.snapshot_id is None:
            log.warning("dead_letter_without_snapshot")
            return
        reason = dead_letter_reason(
            dict(message.headers or {}),
            namespace=topology.namespace,
            delivery_limit=topology.delivery_limit,
            message_type=message.raw_message.type,
        )
        schema = settings.schema_name
        if letter.restore_id is not None:
            # A restore's message: the restore fails, its snapshot stays as it is.
            await fail_restore_now(
                pool, schema, letter.restore_id, letter.snapshot_id, reason, now=utc_now()
            )
            return
        change = await fail_snapshot(pool, schema, letter.snapshot_id, reason, now=utc_now())
        log.warning("snapshot_given_up", snapshot_id=str(letter.snapshot_id), reason=reason)
        await announce(publishers.publish, [change])

    @router.subscriber(
        topology.catalog_queries,
        ack_policy=AckPolicy.REJECT_ON_ERROR,
        channel=Channel(prefetch_count=QUERY_PREFETCH),
        title="catalog.queries",
        description="get_snapshot / list_snapshots / get_restore / list_restores / ..., "
        "answered to the asker's reply queue.",
    )
    async def on_query(
        body: Annotated[Any, documented_as(CatalogQuery)], pool: DbPool, settings: Settings
    ) -> Reply | QueryRefused:
        return await answer_query(pool, settings.schema_name, body)

    return router


async def fold_event(
    event: Event, pool: DbPool, settings: Settings, publishers: Publishers
) -> None:
    """Record `event` once and fold it into its snapshot; a redelivery changes nothing."""
    change = await record_event(pool, settings.schema_name, event, now=utc_now())
    if change is None:
        log.info("event_recorded", event_type=type(event).__name__, snapshot_changed=False)
        return
    log.info(
        "event_recorded",
        event_type=type(event).__name__,
        snapshot_changed=True,
        status=change.after.status,
    )
    await announce(publishers.publish, [change])
