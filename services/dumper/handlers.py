"""The dumper's subscribers: BackupRequested (work, one at a time) and its queries (RPC)."""

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage

from services.dumper.dumping import Dumper
from services.dumper.queries import answer_query
from services.dumper.settings import DumperSettings
from shared.events import BackupRequested
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


def register(
    broker: RabbitBroker,
    topology: Topology,
    runtime: Runtime,
    settings: DumperSettings,
    dumper: Dumper,
) -> None:
    """Attach the dumper's subscribers to `broker`."""
    schema = settings.schema_name

    @broker.subscriber(
        topology.queue("dumper"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # One dump at a time per consumer, so replicas share the work.
        channel=Channel(prefetch_count=1),
        title="dumper.backup_requested",
        description="Dump one database into staged chunks; acked after its outcome is out.",
    )
    async def on_backup_requested(request: BackupRequested, message: RabbitMessage) -> None:
        if await was_handled(runtime.pool, schema=schema, event_id=request.event_id):
            log.info("request_skipped_duplicate")
            return
        await run_stoppable(
            runtime, dumper.dump(request, attempt=attempt_of(message.raw_message.headers))
        )
        async with runtime.pool.acquire() as conn:
            await mark_handled(conn, schema=schema, event_id=request.event_id)

    @broker.subscriber(
        topology.dumper_queries,
        ack_policy=AckPolicy.ACK,
        title="dumper.queries",
        description="Request/reply: list the databases of a server.",
    )
    async def on_query(body: dict[str, Any]) -> dict[str, Any]:
        return await answer_query(dumper, body)
