"""How the dumper's work queue handles one backup or restore delivery (the subscribers call these).

A job runs as a runtime task that outlives its delivery's handler, under its job lease
(services/dumper/leases.py). When the broker's consumer timeout fires it closes the channel,
and aio-pika cancels the handler: the job goes on and publishes its outcome as usual, and the
redelivery (here, on the reopened channel, or on another replica) finds the lease running and
is parked in the postponed queue until the job has finished, then acked and dropped. The
first delivery is never acked: its channel is gone, and the broker had requeued it already.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from faststream.rabbit import RabbitMessage
from faststream.rabbit.publisher.usecase import RabbitPublisher

from services.dumper.adapters.db import cancel_reason
from services.dumper.adapters.server_slots import ServerSlots
from services.dumper.dumping import Dumper
from services.dumper.leases import JobLeases
from services.dumper.restoring import Restorer
from services.dumper.settings import DumperSettings
from shared.adapters.idempotency import was_handled
from shared.events import BackupRequested, RestoreRequested
from shared.logging import get_logger
from shared.service import Runtime

log = get_logger(__name__)

Job = BackupRequested | RestoreRequested


def requested(event_type: type[Job], parked_key: str) -> Any:
    """A FastStream filter: `event_type` as published, or its copy back from the postponed
    queue (which arrives under `parked_key`, the work queue's name, and keeps its type)."""

    def matches(message: RabbitMessage) -> bool:
        raw = message.raw_message
        if raw.routing_key == event_type.routing_key:
            return True
        return raw.routing_key == parked_key and raw.type == event_type.__name__

    return matches


def _log_abandoned_outcome(task: "asyncio.Task[None]") -> None:
    if task.cancelled():
        return
    if (error := task.exception()) is not None:
        log.error("job_failed_after_delivery_lost", error=type(error).__name__)


async def run_stoppable(
    runtime: Runtime, work: Coroutine[Any, Any, object], *, delivery: RabbitMessage | None = None
) -> None:
    """Run `work` as a runtime task, so a stopping service cancels it after the graceful wait.

    Cancelling the task kills the dump tool and discards the attempt's staged chunks (or drops
    the restore's target), and the unacked message is redelivered. Cancelling only the handler
    (the broker closed the channel under it) leaves the task running; `delivery` is then
    marked settled, so FastStream does not ack it on a channel that is gone.
    """

    async def task_body() -> None:
        await work

    task = asyncio.create_task(task_body())
    runtime.tasks.append(task)

    def forget(done: "asyncio.Task[None]") -> None:
        with contextlib.suppress(ValueError):
            runtime.tasks.remove(done)

    task.add_done_callback(forget)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.done() or delivery is None:
            raise
        log.warning("delivery_lost_job_continues")
        task.add_done_callback(_log_abandoned_outcome)
        # aio-pika's lock: FastStream then skips the ack instead of failing it (CRITICAL).
        delivery.raw_message.lock()


async def postpone(publisher: RabbitPublisher, request: Job, *, delay: float, why: str) -> None:
    """Park a request; it returns to the work queue after `delay` s.

    The copy keeps the event id (and its type, for the filters), so whichever delivery runs
    first is the only one that works.
    """
    await publisher.publish(
        request.model_dump(mode="json"),
        message_id=str(request.event_id),
        message_type=type(request).__name__,
        content_type="application/json",
        expiration=delay,
    )
    if isinstance(request, BackupRequested):
        log.info("backup_postponed", server_id=str(request.server_id), delay=delay, why=why)
    else:
        log.info("restore_postponed", delay=delay, why=why)


class JobRunner:
    """Backups and restores, each run at most once at a time across every replica."""

    def __init__(
        self,
        runtime: Runtime,
        settings: DumperSettings,
        leases: JobLeases,
        postponed: RabbitPublisher,
    ) -> None:
        self._runtime = runtime
        self._settings = settings
        self._leases = leases
        self._postponed = postponed

    async def _handled(self, request: Job) -> bool:
        schema = self._settings.schema_name
        if await was_handled(self._runtime.pool, schema=schema, event_id=request.event_id):
            log.info("request_skipped_duplicate")
            return True
        return False

    async def _under_lease(
        self, job_id: Any, request: Job, work: Callable[[int], Awaitable[object]]
    ) -> None:
        outcome = await self._leases.run(job_id, request.event_id, work)
        if outcome == "running":
            # Acked, not nacked: a redelivery of a running job is not a failed delivery.
            await postpone(
                self._postponed, request, delay=self._settings.lease_recheck_delay, why="running"
            )
        elif outcome == "finished":
            log.info("request_skipped_finished")

    async def backup(
        self, dumper: Dumper, request: BackupRequested, delivery: RabbitMessage
    ) -> None:
        """Dump once, in a free slot of its server; postpone it while none is."""
        await run_stoppable(self._runtime, self._backup(dumper, request), delivery=delivery)

    async def _backup(self, dumper: Dumper, request: BackupRequested) -> None:
        if await self._handled(request):
            return
        settings = self._settings
        reason = await cancel_reason(self._runtime.pool, settings.schema_name, request.snapshot_id)
        if reason is not None:
            await self._under_lease(
                request.snapshot_id, request, lambda _: dumper.refuse(request, reason)
            )
            return
        slots = ServerSlots(
            self._runtime.pool, settings.schema_name, limit=settings.server_concurrency
        )
        async with slots.claim(request.server_id) as slot:
            if slot is None:
                # Acked, not nacked: waiting for a busy server is not a failed delivery.
                await postpone(
                    self._postponed, request, delay=settings.server_busy_delay, why="server busy"
                )
                return
            await self._under_lease(
                request.snapshot_id,
                request,
                lambda attempt: dumper.dump(request, attempt=attempt),
            )

    async def restore(
        self, restorer: Restorer, request: RestoreRequested, delivery: RabbitMessage
    ) -> None:
        """Restore (or verify) once."""
        await run_stoppable(self._runtime, self._restore(restorer, request), delivery=delivery)

    async def _restore(self, restorer: Restorer, request: RestoreRequested) -> None:
        if await self._handled(request):
            return
        await self._under_lease(request.restore_id, request, lambda _: restorer.restore(request))
