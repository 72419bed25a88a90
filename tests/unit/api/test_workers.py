"""The workers' group: started in order, stopped in reverse, each stopped whatever another does."""

import asyncio

from services.api.workers import LoopWorker, Workers


class Recorded:
    def __init__(self, name: str, log: list[str], *, fails_to_stop: bool = False) -> None:
        self.name = name
        self._log = log
        self._fails = fails_to_stop

    async def start(self) -> None:
        self._log.append(f"start {self.name}")

    async def stop(self) -> None:
        self._log.append(f"stop {self.name}")
        if self._fails:
            raise RuntimeError(self.name)


class TestWorkers:
    async def test_start_in_order_and_stop_in_reverse(self) -> None:
        log: list[str] = []
        workers = Workers([Recorded("broker", log), Recorded("relay", log)])
        await workers.start()
        await workers.stop()
        assert log == ["start broker", "start relay", "stop relay", "stop broker"]

    async def test_a_worker_that_fails_to_stop_does_not_keep_the_others_running(self) -> None:
        log: list[str] = []
        workers = Workers([Recorded("broker", log), Recorded("relay", log, fails_to_stop=True)])
        await workers.start()
        await workers.stop()
        assert log[-2:] == ["stop relay", "stop broker"]

    async def test_stopping_twice_stops_once(self) -> None:
        log: list[str] = []
        workers = Workers([Recorded("relay", log)])
        await workers.start()
        await workers.stop()
        await workers.stop()
        assert log == ["start relay", "stop relay"]


class TestLoopWorker:
    async def test_stop_cancels_the_loop_and_waits_for_it(self) -> None:
        ended = asyncio.Event()

        async def run() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                ended.set()

        worker = LoopWorker("loop", run)
        await worker.start()
        await asyncio.sleep(0)
        await worker.stop()
        assert ended.is_set()
