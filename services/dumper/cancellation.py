"""Cancelling snapshots: which dump runs for which snapshot here, and which were cancelled.

Every dumper replica hears every SnapshotCancelRequested on its own control queue. The one
running that snapshot's dump cancels the attempt's task: the tool is killed by the attempt's
own clean-up, and the attempt ends in `DumpCancelledError`, i.e. DumpFailed("cancelled").
The id is also remembered (boundedly) so a request arriving later is refused at once.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar
from uuid import UUID

from services.dumper.errors import DumpCancelledError

T = TypeVar("T")
REMEMBERED = 10_000
"""Cancelled ids kept in memory; the database table is the durable record."""


class Cancellations:
    """Running attempts by snapshot, and the reasons of recent cancellations."""

    def __init__(self, *, remembered: int = REMEMBERED) -> None:
        self._running: dict[UUID, asyncio.Task[Any]] = {}
        self._reasons: OrderedDict[UUID, str] = OrderedDict()
        self._remembered = remembered

    def reason(self, snapshot_id: UUID) -> str | None:
        """Why the snapshot was cancelled, if this replica heard it was."""
        return self._reasons.get(snapshot_id)

    def cancel(self, snapshot_id: UUID, reason: str) -> bool:
        """Remember the cancellation and stop the snapshot's running attempt; True if one ran."""
        self._reasons[snapshot_id] = reason
        self._reasons.move_to_end(snapshot_id)
        while len(self._reasons) > self._remembered:
            self._reasons.popitem(last=False)
        task = self._running.get(snapshot_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def is_running(self, snapshot_id: UUID) -> bool:
        return snapshot_id in self._running

    async def run(self, snapshot_id: UUID, work: Coroutine[Any, Any, T]) -> T:
        """Run one attempt as its own task; DumpCancelledError when a cancel stopped it.

        A cancellation of the caller itself (the service stops) propagates as such, so the
        message is redelivered rather than failed.
        """
        task = asyncio.create_task(work)
        self._running[snapshot_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            reason = self._reasons.get(snapshot_id)
            current = asyncio.current_task()
            if reason is None or (current is not None and current.cancelling()):
                raise
            raise DumpCancelledError(reason) from None
        finally:
            if self._running.get(snapshot_id) is task:
                del self._running[snapshot_id]


async def complete(work: Awaitable[T]) -> T:
    """Await `work` to its end even when this task is cancelled meanwhile, then re-raise.

    Clean-up after a cancellation must finish: a stopping service cancels a dump twice (the
    broker's consumer task, then the runtime's task list), and a second cancel landing in
    the clean-up would leave staged chunks behind.
    """
    task = asyncio.ensure_future(work)
    interrupted = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            interrupted = True
            continue
        if interrupted:
            raise asyncio.CancelledError
        return result
