"""Job leases: a redelivery of a running job does not run it again; a dead holder's job does."""

import asyncio
import time
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from services.dumper.leases import Claimed, ClaimOutcome, JobLeases


@dataclass
class Row:
    holder: UUID
    attempts: int
    renewed: float
    finished: bool = False


class MemoryLeases:
    """The lease table in memory, with the same rules as the PostgreSQL adapter."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}
        self.handled: set[UUID] = set()

    async def claim(self, job_id: UUID, holder: UUID, *, stale_after: float) -> ClaimOutcome:
        row = self.rows.get(job_id)
        if row is None:
            self.rows[job_id] = Row(holder, 1, time.monotonic())
            return Claimed(attempt=1)
        if row.finished:
            return "finished"
        if time.monotonic() - row.renewed < stale_after:
            return "running"
        self.rows[job_id] = Row(holder, row.attempts + 1, time.monotonic())
        return Claimed(attempt=row.attempts + 1)

    async def renew(self, job_id: UUID, holder: UUID) -> bool:
        row = self.rows[job_id]
        if row.holder != holder or row.finished:
            return False
        row.renewed = time.monotonic()
        return True

    async def release(self, job_id: UUID, holder: UUID) -> None:
        row = self.rows[job_id]
        if row.holder == holder and not row.finished:
            row.renewed = float("-inf")

    async def finish(self, job_id: UUID, holder: UUID, *, event_id: UUID) -> None:
        row = self.rows[job_id]
        if row.holder == holder:
            row.finished = True
        self.handled.add(event_id)


class TestJobLeases:
    async def test_a_redelivery_while_the_job_runs_does_not_run_it_and_says_running(self):
        store = MemoryLeases()
        leases = JobLeases(store, timeout=0.4)
        job, event = uuid4(), uuid4()
        release = asyncio.Event()
        runs: list[int] = []

        async def long_job(attempt: int) -> None:
            runs.append(attempt)
            await release.wait()

        first = asyncio.create_task(leases.run(job, event, long_job))
        await asyncio.sleep(0.6)  # longer than the timeout: only renewals keep it live

        assert await leases.run(job, event, long_job) == "running"
        release.set()
        assert await first == "ran"
        assert runs == [1]

    async def test_a_delivery_after_the_job_finished_is_dropped_and_the_event_handled(self):
        store = MemoryLeases()
        leases = JobLeases(store, timeout=5)
        job, event = uuid4(), uuid4()
        runs: list[int] = []

        async def job_body(attempt: int) -> None:
            runs.append(attempt)

        assert await leases.run(job, event, job_body) == "ran"
        assert await leases.run(job, event, job_body) == "finished"
        assert runs == [1]
        assert store.handled == {event}

    async def test_a_job_that_failed_unexpectedly_is_released_for_the_next_delivery(self):
        store = MemoryLeases()
        leases = JobLeases(store, timeout=60)
        job, event = uuid4(), uuid4()
        runs: list[int] = []

        async def broken(attempt: int) -> None:
            runs.append(attempt)
            if attempt == 1:
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await leases.run(job, event, broken)
        assert store.handled == set()

        assert await leases.run(job, event, broken) == "ran"
        assert runs == [1, 2]

    async def test_a_holder_that_stopped_renewing_is_taken_over_as_a_new_attempt(self):
        store = MemoryLeases()
        leases = JobLeases(store, timeout=0.3)
        job, event = uuid4(), uuid4()
        dead_holder = uuid4()
        await store.claim(job, dead_holder, stale_after=0.3)  # claimed, then the process died
        runs: list[int] = []

        async def job_body(attempt: int) -> None:
            runs.append(attempt)

        assert await leases.run(job, event, job_body) == "running"
        await asyncio.sleep(0.4)
        assert await leases.run(job, event, job_body) == "ran"
        assert runs == [2]

    async def test_a_stopped_job_releases_its_lease_and_stays_cancelled(self):
        store = MemoryLeases()
        leases = JobLeases(store, timeout=60)
        job, event = uuid4(), uuid4()
        started = asyncio.Event()

        async def stuck(_attempt: int) -> None:
            started.set()
            await asyncio.Event().wait()

        running = asyncio.create_task(leases.run(job, event, stuck))
        await started.wait()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

        assert store.rows[job].renewed == float("-inf")
        assert store.handled == set()
