"""At most DUMPER_SERVER_CONCURRENCY dumps of one server at once, across every replica."""

import asyncio
import itertools
from uuid import uuid4

import asyncpg
import pytest
from faststream import TestApp
from structlog.testing import capture_logs

from services.dumper.adapters.server_slots import ServerSlots
from services.dumper.app import build_app
from shared.events import DumpFinished, DumpStarted
from tests.integration.dumper.conftest import pg_spec, pg_url
from tests.support.dead_letters import take_dead_letters

pytestmark = pytest.mark.integration

ROWS_SQL = """
CREATE TABLE t (id int PRIMARY KEY, txt text);
INSERT INTO t SELECT g, md5(g::text) || repeat('x', 200) FROM generate_series(1, 40000) g;
"""


@pytest.fixture
async def pool(pg_database):
    pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=4)
    yield pool
    await pool.close()


class TestServerSlots:
    async def test_a_server_has_as_many_slots_as_its_limit(self, pool):
        server = uuid4()
        one = ServerSlots(pool, "dumper", limit=1)
        two = ServerSlots(pool, "dumper", limit=2)

        async with one.claim(server) as first:
            async with one.claim(server) as busy, two.claim(server) as second:
                assert (first, busy, second) == (0, None, 1)
            async with one.claim(uuid4()) as other_server:
                assert other_server == 0
        async with one.claim(server) as again:
            assert again == 0

    async def test_stacks_in_one_database_do_not_share_slots(self, pool):
        server = uuid4()
        async with (
            ServerSlots(pool, "dumper", limit=1).claim(server) as mine,
            ServerSlots(pool, "other_stack", limit=1).claim(server) as theirs,
        ):
            assert (mine, theirs) == (0, 0)

    async def test_a_lost_connection_frees_the_slot_and_ends_the_dump_cleanly(
        self, pool, pg_database
    ):
        """A database restart kills the lock's session: PostgreSQL frees the slot, and the
        dump that held it ends without an error (it must not be run again for that)."""
        server = uuid4()
        slots = ServerSlots(pool, "dumper", limit=1)
        admin = await asyncpg.connect(pg_database)
        try:
            async with slots.claim(server) as slot:
                holders = await admin.fetch(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                    "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
                assert len(holders) == 1
                await admin.execute("SELECT pg_terminate_backend($1)", holders[0]["pid"])
                async with slots.claim(server) as after_restart:
                    assert (slot, after_restart) == (0, 0)
        finally:
            await admin.close()


class TestTwoReplicas:
    async def test_four_backups_of_one_server_never_overlap_and_all_complete(
        self, dumper_env, pg_source, postgres_url, rabbit_url
    ):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        try:
            await conn.execute(ROWS_SQL)
        finally:
            await conn.close()
        server_id = uuid4()
        requests = [
            dumper_env.request(pg_spec(postgres_url), source).model_copy(
                update={"server_id": server_id}
            )
            for _ in range(4)
        ]

        with capture_logs() as logs:
            async with (
                TestApp(build_app(dumper_env.settings, replica="one")),
                TestApp(build_app(dumper_env.settings, replica="two")),
            ):
                for request in requests:
                    await dumper_env.publish(request)
                outcomes = await asyncio.gather(
                    *(dumper_env.outcome(r.snapshot_id, timeout=120) for r in requests)
                )

        assert all(isinstance(outcome, DumpFinished) for outcome in outcomes), outcomes
        spans = sorted(
            (
                dumper_env.of(r.snapshot_id, DumpStarted)[0].occurred_at,
                dumper_env.of(r.snapshot_id, DumpFinished)[0].occurred_at,
            )
            for r in requests
        )
        for (_, finished), (started, _) in itertools.pairwise(spans):
            assert finished <= started, f"two dumps of one server overlapped: {spans}"
        # Each ran exactly once, and the waiting ones were parked, not failed deliveries.
        assert all(len(dumper_env.of(r.snapshot_id, DumpStarted)) == 1 for r in requests)
        assert any(line["event"] == "backup_postponed" for line in logs)
        dead = await take_dead_letters(
            rabbit_url, dumper_env.topology.dead_letter_queue("dumper").name, count=1, timeout=1
        )
        assert dead == []
