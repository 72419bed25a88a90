"""One start/stop contract for the api's background work, and the group that runs it."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from shared.logging import get_logger

log = get_logger(__name__)


class Worker(Protocol):
    """Background work of the api process: started after the pool and the broker link are
    open, stopped before they close."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LoopWorker:
    """A worker whose work is one coroutine that loops until it is cancelled."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async def loop() -> None:
            await self._run()

        self._task = asyncio.create_task(loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Workers:
    """Starts its workers in order and stops them in the reverse order."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self._workers = list(workers)
        self._started: list[Worker] = []

    @property
    def names(self) -> list[str]:
        return [worker.name for worker in self._workers]

    async def start(self) -> None:
        for worker in self._workers:
            await worker.start()
            self._started.append(worker)
        log.info("workers_started", workers=self.names)

    async def stop(self) -> None:
        """Stop every started worker; one that fails to stop does not keep the others on."""
        while self._started:
            worker = self._started.pop()
            try:
                await worker.stop()
            except Exception:  # the shutdown's boundary: the next worker still stops
                log.exception("worker_stop_failed", worker=worker.name)
