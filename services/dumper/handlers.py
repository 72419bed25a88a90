"""The dumper's subscribers: its work queue (BackupRequested one at a time, and cancellations),
its own control queue (cancellations of the dump it runs) and its queries (RPC)."""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage
from faststream.rabbit.publisher.usecase import RabbitPublisher
from faststream.rabbit.subscriber import RabbitSubscriber

from services.dumper.adapters.db import cancel_reason, record_cancel
from services.dumper.adapters.server_slots import ServerSlots
from services.dumper.dumping import Dumper
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
from shared.service import Runtime
from shared.topology import Topology

log = get_logger(__name__)

DELIVERY_COUNT = "x-delivery-count"
"""Set by quorum queues on a redelivery: how many deliveries came before this one."""


def attempt_of(headers: dict[str, Any] | None) -> int:
    """Which delivery of the message this is, 1 for the first."""
    count = (headers or {}).get(DELIVERY_COUNT)
    return int(count) + 1 if isinstance(count, int) and count >= 0 else 1


async def run_stoppable(runtime: Runtime, work: Coroutine[Any, Any, object]) -> None:
    """Run `work` as a runtime task, so a stopping service cancels it after the graceful wait.

    The broker only stops waiting for a handler; cancelling it kills the dump tool and
    discards the attempt's staged chunks, and the unacked message is redelivered.
    """

    async def task_body() -> None:
        await work

    task = asyncio.create_task(task_body())
    runtime.tasks.append(task)
    try:
        await task
    finally:
        with contextlib.suppress(ValueError):
            runtime.tasks.remove(task)


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


async def postpone(publisher: RabbitPublisher, request: BackupRequested, *, delay: float) -> None:
    """Park a backup whose server is busy; it returns to the work queue after `delay` s.

    The copy keeps the event id, so whichever delivery runs first is the only one that dumps.
    """
    await publisher.publish(
        request.model_dump(mode="json"),
        message_id=str(request.event_id),
        message_type=type(request).__name__,
        content_type="application/json",
        expiration=delay,
    )
    log.info("backup_postponed", server_id=str(request.server_id), delay=delay)


async def handle_backup(
    runtime: Runtime,
    postponed: RabbitPublisher,
    settings: DumperSettings,
    dumper: Dumper,
    *,
    request: BackupRequested,
    attempt: int,
) -> None:
    """Dump once per event id, in a free slot of its server; postpone it while none is."""
    schema = settings.schema_name
    if await was_handled(runtime.pool, schema=schema, event_id=request.event_id):
        log.info("request_skipped_duplicate")
        return
    reason = await cancel_reason(runtime.pool, schema, request.snapshot_id)
    if reason is not None:
        await dumper.refuse(request, reason)
    else:
        slots = ServerSlots(runtime.pool, schema, limit=settings.server_concurrency)
        async with slots.claim(request.server_id) as slot:
            if slot is None:
                # Acked, not nacked: waiting for a busy server is not a failed delivery.
                await postpone(postponed, request, delay=settings.server_busy_delay)
                return
            await run_stoppable(runtime, dumper.dump(request, attempt=attempt))
    async with runtime.pool.acquire() as conn:
        await mark_handled(conn, schema=schema, event_id=request.event_id)


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
        "(DUMPER_SERVER_CONCURRENCY), parked for DUMPER_SERVER_BUSY_DELAY s; on expiry the "
        "queue returns it to the dumper's work queue.",
        schema=BackupRequested,
    )

    # A postponed backup comes back through the default exchange, under the queue's name.
    @work(filter=routed(BackupRequested.routing_key, topology.queue("dumper").name))
    async def on_backup_requested(request: BackupRequested, message: RabbitMessage) -> None:
        await handle_backup(
            runtime,
            postponed,
            settings,
            dumper,
            request=request,
            attempt=attempt_of(message.raw_message.headers),
        )

    @work(filter=routed(RestoreRequested.routing_key))
    async def on_restore_requested(request: RestoreRequested) -> None:
        await handle_once(runtime, schema, request.event_id, lambda: restorer.restore(request))

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
    async def on_query(body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await answer_query(dumper, body)
        except Exception:  # the asker gets a sentence, not a timeout
            log.exception("query_failed")
            return {"ok": False, "error": "the dumper failed to answer this query"}
