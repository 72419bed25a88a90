"""Job leases in the dumper's real tables: one holder at a time, stale holders taken over."""

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from services.dumper.adapters.leases import PostgresLeases
from services.dumper.app import migrations_folder
from services.dumper.leases import Claimed, JobLeases
from shared.adapters.idempotency import was_handled
from shared.migrations import migrate

pytestmark = pytest.mark.integration

SCHEMA = "dumper"


@pytest.fixture
async def pool(pg_database):
    pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=4)
    await migrate(pool, schema=SCHEMA, folder=migrations_folder)
    yield pool
    await pool.close()


@pytest.fixture
def store(pool):
    return PostgresLeases(lambda: pool, SCHEMA)


class TestPostgresLeases:
    async def test_a_live_lease_is_running_for_every_other_claim(self, store):
        job = uuid4()

        assert await store.claim(job, uuid4(), stale_after=60) == Claimed(attempt=1)
        assert await store.claim(job, uuid4(), stale_after=60) == "running"

    async def test_a_stale_lease_is_taken_over_and_the_old_holder_can_no_longer_renew(self, store):
        job, dead, heir = uuid4(), uuid4(), uuid4()
        await store.claim(job, dead, stale_after=0.2)
        await asyncio.sleep(0.3)

        assert await store.claim(job, heir, stale_after=0.2) == Claimed(attempt=2)
        assert await store.renew(job, dead) is False
        assert await store.renew(job, heir) is True

    async def test_a_released_lease_is_claimed_at_once(self, store):
        job, first = uuid4(), uuid4()
        await store.claim(job, first, stale_after=60)
        await store.release(job, first)

        assert await store.claim(job, uuid4(), stale_after=60) == Claimed(attempt=2)

    async def test_a_finished_job_is_finished_for_good_and_its_event_handled(self, store, pool):
        job, holder, event = uuid4(), uuid4(), uuid4()
        await store.claim(job, holder, stale_after=0.1)
        await store.finish(job, holder, event_id=event)
        await asyncio.sleep(0.2)  # older than stale_after: finished still wins

        assert await store.claim(job, uuid4(), stale_after=0.1) == "finished"
        assert await was_handled(pool, schema=SCHEMA, event_id=event)

    async def test_renewals_keep_a_job_longer_than_the_timeout_its_own(self, store):
        leases = JobLeases(store, timeout=0.4)
        job, event = uuid4(), uuid4()
        release = asyncio.Event()

        async def long_job(_attempt: int) -> None:
            await release.wait()

        first = asyncio.create_task(leases.run(job, event, long_job))
        await asyncio.sleep(1.0)

        assert await leases.run(job, event, long_job) == "running"
        release.set()
        assert await first == "ran"
        assert await leases.run(job, event, long_job) == "finished"
