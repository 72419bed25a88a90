"""A job outlives its delivery's handler: the broker closing the channel does not stop it."""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from services.dumper.deliveries import run_stoppable
from shared.service import Runtime


class FakeDelivery:
    """Just enough of a RabbitMessage: its aio-pika message can be locked (settled)."""

    def __init__(self) -> None:
        self.locked = False
        self.raw_message = SimpleNamespace(lock=self._lock)

    def _lock(self) -> None:
        self.locked = True


async def started_handler(
    runtime: Runtime, release: asyncio.Event, delivery: Any
) -> tuple["asyncio.Task[None]", list[str]]:
    done: list[str] = []
    started = asyncio.Event()

    async def job() -> None:
        started.set()
        await release.wait()
        done.append("finished")

    handler = asyncio.create_task(run_stoppable(runtime, job(), delivery=delivery))
    await started.wait()
    return handler, done


class TestRunStoppable:
    async def test_a_cancelled_handler_leaves_the_job_running_and_its_delivery_settled(self):
        runtime, release, delivery = Runtime(), asyncio.Event(), FakeDelivery()
        handler, done = await started_handler(runtime, release, delivery)

        handler.cancel()
        await handler  # returns: FastStream then skips the ack of the locked message

        assert delivery.locked
        [job] = runtime.tasks
        release.set()
        await job
        assert done == ["finished"]
        assert runtime.tasks == []

    async def test_a_stopping_service_still_stops_the_job(self):
        runtime, release, delivery = Runtime(), asyncio.Event(), FakeDelivery()
        handler, done = await started_handler(runtime, release, delivery)

        runtime.tasks[0].cancel()

        with pytest.raises(asyncio.CancelledError):
            await handler
        assert done == []
        assert not delivery.locked

    async def test_without_a_delivery_the_handler_cancellation_propagates(self):
        runtime, release = Runtime(), asyncio.Event()
        handler, done = await started_handler(runtime, release, None)

        handler.cancel()

        with pytest.raises(asyncio.CancelledError):
            await handler
        release.set()
        await asyncio.gather(*runtime.tasks)
        assert done == ["finished"]
