"""The dumper's subscribers: its work queue (BackupRequested one at a time, and cancellations),
its own control queue (cancellations of the dump it runs) and its queries (RPC)."""

from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage
from faststream.rabbit.subscriber import RabbitSubscriber

from services.dumper.adapters.db import record_cancel
from services.dumper.adapters.leases import PostgresLeases
from services.dumper.deliveries import JobRunner, requested, run_stoppable
from services.dumper.dumping import Dumper
from services.dumper.leases import JobLeases
from services.dumper.queries import answer_query
from services.dumper.restoring import Restorer
from services.dumper.rewrapping import Rewrapper
from services.dumper.settings import DumperSettings
from shared.events import (
    BackupRequested,
    KeysRewrapRequested,
    RestoreRequested,
    SnapshotCancelRequested,
)
from shared.idempotency import mark_handled, was_handled
from shared.logging import get_logger
from shared.queries import QueryRefused, Reply
from shared.service import Runtime
from shared.topology import Topology

log = get_logger(__name__)


async def handle_once(
    runtime: Runtime,
    schema: str,
    event_id: UUID,
    work: Callable[[], Coroutine[Any, Any, object]],
) -> None:
    """Run `work` (stoppable) unless `event_id` was handled already, then remember it."""
    if await was_handled(runtime.pool, schema=schema, event_id=event_id):
        log.info("request_skipped_duplicate")
        return
    await run_stoppable(runtime, work())
    async with runtime.pool.acquire() as conn:
        await mark_handled(conn, schema=schema, event_id=event_id)


def routed(*routing_keys: str) -> Any:
    """A FastStream filter: messages published under one of `routing_keys`."""

    def matches(message: RabbitMessage) -> bool:
        return message.raw_message.routing_key in routing_keys

    return matches


def register_rotation(
    work: RabbitSubscriber, runtime: Runtime, schema: str, rewrapper: Rewrapper
) -> None:
    """Master-key rotation on the work queue: one copy's data key re-wrapped per message."""

    @work(filter=routed(KeysRewrapRequested.routing_key))
    async def on_keys_rewrap_requested(request: KeysRewrapRequested) -> None:
        await handle_once(runtime, schema, request.event_id, lambda: rewrapper.rewrap(request))


def register(
    broker: RabbitBroker,
    topology: Topology,
    runtime: Runtime,
    settings: DumperSettings,
    dumper: Dumper,
    *,
    restorer: Restorer,
    replica: str,
    rewrapper: Rewrapper,
) -> None:
    """Attach the dumper's subscribers to `broker`; `replica` names its control queue."""
    schema = settings.schema_name

    work = broker.subscriber(
        topology.queue("dumper"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # One dump at a time per consumer, so replicas share the work.
        channel=Channel(prefetch_count=1),
        title="dumper.work",
        description="Dump one database into staged chunks, acked after its outcome is out; "
        "restore a snapshot into a database, acked after its outcome is out; "
        "re-wrap an encrypted snapshot's data key with the active master key; "
        "remember cancelled snapshots so their queued requests are refused.",
    )

    postponed = broker.publisher(
        topology.dumper_postponed,
        persist=True,
        title="dumper.postponed",
        description="A backup whose database server has no free slot "
        "(DUMPER_SERVER_CONCURRENCY), parked for DUMPER_SERVER_BUSY_DELAY s, or a redelivered "
        "backup or restore that another delivery still runs (its job lease is live), parked "
        "for DUMPER_LEASE_RECHECK_DELAY s; on expiry the queue returns it to the dumper's "
        "work queue.",
        schema=BackupRequested | RestoreRequested,
    )
    store = PostgresLeases(lambda: runtime.pool, schema)
    jobs = JobRunner(runtime, settings, JobLeases(store, timeout=settings.lease_timeout), postponed)
    # A postponed request comes back through the default exchange, under the queue's name.
    parked_key = topology.queue("dumper").name

    @work(filter=requested(BackupRequested, parked_key))
    async def on_backup_requested(request: BackupRequested, message: RabbitMessage) -> None:
        await jobs.backup(dumper, request, message)

    @work(filter=requested(RestoreRequested, parked_key))
    async def on_restore_requested(request: RestoreRequested, message: RabbitMessage) -> None:
        await jobs.restore(restorer, request, message)

    register_rotation(work, runtime, schema, rewrapper)

    @work(filter=routed(SnapshotCancelRequested.routing_key))
    async def on_cancel_recorded(cancel: SnapshotCancelRequested) -> None:
        await record_cancel(runtime.pool, schema, cancel.snapshot_id, cancel.reason)
        dumper.cancellations.cancel(cancel.snapshot_id, cancel.reason)
        log.info("cancel_recorded")

    @broker.subscriber(
        topology.dumper_control(replica),
        topology.events,
        ack_policy=AckPolicy.ACK,
        # Its own channel: heard while the work channel's one message is being dumped.
        channel=Channel(prefetch_count=16),
        title="dumper.control",
        description="Every cancellation, on each replica's own queue: the replica running "
        'that snapshot\'s dump kills it and publishes DumpFailed("cancelled").',
    )
    async def on_cancel_requested(cancel: SnapshotCancelRequested) -> None:
        if dumper.cancellations.cancel(cancel.snapshot_id, cancel.reason):
            log.info("dump_cancel_requested")

    @broker.subscriber(
        topology.dumper_queries,
        ack_policy=AckPolicy.ACK,
        title="dumper.queries",
        description="Request/reply: list the databases of a server, test a connection.",
    )
    async def on_query(body: dict[str, Any]) -> Reply | QueryRefused:
        try:
            return await answer_query(dumper, body)
        except Exception:  # the asker gets a sentence, not a timeout
            log.exception("query_failed")
            return QueryRefused(error="the dumper failed to answer this query")
