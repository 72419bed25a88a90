"""Clean-up that must finish even when the task running it is cancelled again."""

import asyncio

import pytest

from services.dumper.cancellation import complete


class TestComplete:
    async def test_a_second_cancel_does_not_cut_the_clean_up_short(self) -> None:
        cleaned = asyncio.Event()
        started = asyncio.Event()

        async def clean_up() -> None:
            started.set()
            await asyncio.sleep(0.05)
            cleaned.set()

        async def abandoned_attempt() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await complete(clean_up())
                raise

        task = asyncio.create_task(abandoned_attempt())
        await asyncio.sleep(0)
        task.cancel()  # the broker's consumer task stops
        await started.wait()
        task.cancel()  # the runtime cancels its task list too
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned.is_set()

    async def test_the_result_comes_back_when_nothing_cancels(self) -> None:
        async def work() -> int:
            await asyncio.sleep(0)
            return 7

        assert await complete(work()) == 7

    async def test_an_error_of_the_work_propagates(self) -> None:
        async def work() -> None:
            raise OSError("disk gone")

        with pytest.raises(OSError, match="disk gone"):
            await complete(work())
