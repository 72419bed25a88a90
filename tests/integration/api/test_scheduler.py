"""The scheduler on the real database and broker, with a fake clock: each slot fires once
even with two schedulers racing, missed slots collapse, disabled configs stay quiet.

The configurations run on Feb 29 only (`* * 29 2 *`), and the fake clock walks Feb 29 2028:
the api fixture's own scheduler, on the real clock, never finds them due.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from faststream.rabbit import RabbitBroker
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.api.adapters.broker import BrokerLink
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.databases import DatabaseLists
from services.api.keys import Keys
from services.api.settings import DEV_CREDENTIALS_KEY
from services.api.usecases.backups import BackupTools
from services.api.vault import Vault
from services.api.workers.scheduler import Scheduler
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.topology import Topology
from tests.integration.api.conftest import register

pytestmark = pytest.mark.integration

LEAP_DAY = datetime(2028, 2, 29, tzinfo=UTC)
EVERY_MINUTE_ON_LEAP_DAY = "* * 29 2 *"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def schedulers(
    pg_database: str,
    rabbit_url: str,
    namespace: str,
    clock: Clock,
    *,
    count: int = 2,
    connected: bool = True,
) -> AsyncIterator[tuple[list[Scheduler], asyncpg.Pool]]:
    """`count` schedulers on one database, each with its own pool, link and registry: two
    api replicas' schedulers, minus the HTTP."""
    pools, links, made = [], [], []
    try:
        for _ in range(count):
            pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=3)
            pools.append(pool)
            link = BrokerLink(RabbitBroker(rabbit_url), Topology(namespace, 2), query_timeout=3)
            links.append(link)
            if connected:
                assert await link.connect()
            keys = Keys(
                vault=Vault(SecretStr(DEV_CREDENTIALS_KEY)), sealer=Sealer(SecretStr(DEV_SEAL_KEY))
            )
            tools = BackupTools(
                servers=ServerRepository(pool, "api"),
                volumes=VolumeRepository(pool, "api"),
                link=link,
                lists=DatabaseLists(ttl=0),
                keys=keys,
            )
            made.append(
                Scheduler(
                    BackupConfigRepository(pool, "api"),
                    BackupRequests(pool, "api"),
                    tools,
                    interval=60,
                    registry=CollectorRegistry(),
                    clock=clock,
                )
            )
        yield made, pools[0]
    finally:
        for link in links:
            await link.close()
        for pool in pools:
            await pool.close()


async def create(api, **extra):
    server_id, volume_id = await register(api)
    body = {
        "name": "leap",
        "server_id": server_id,
        "volume_ids": [volume_id],
        "schedule": EVERY_MINUTE_ON_LEAP_DAY,
        "databases": {"mode": "list", "names": ["shop", "crm"]},
    } | extra
    response = await api.post("/api/v1/backup-configs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def counts(pool: asyncpg.Pool) -> tuple[list[datetime], int, int]:
    slots = await pool.fetch("SELECT scheduled_for FROM api.backup_config_firings ORDER BY 1")
    requests = await pool.fetchval("SELECT count(*) FROM api.snapshots_requested")
    outbox = await pool.fetchval(
        "SELECT count(*) FROM api.outbox WHERE routing_key = 'backup.requested'"
    )
    return [row[0] for row in slots], requests, outbox


def fired(scheduler: Scheduler, outcome: str = "fired") -> float:
    return sum(
        sample.value
        for metric in scheduler.firings.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["outcome"] == outcome
    )


class TestExactlyOnce:
    async def test_two_racing_schedulers_fire_each_slot_once(
        self, api, pg_database, rabbit_url, namespace
    ):
        config = await create(api)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            for step in range(10 * 4):  # ten minutes, a look every 15 s, both at once
                clock.now = LEAP_DAY + timedelta(seconds=15 * step)
                await asyncio.gather(*(scheduler.tick() for scheduler in both))
            slots, requests, outbox = await counts(pool)
            assert slots == [LEAP_DAY + timedelta(minutes=m) for m in range(10)]
            assert requests == outbox == 2 * 10  # shop and crm per firing
            assert sum(fired(scheduler) for scheduler in both) == 10
            [sample] = next(iter(both[1].last_pass.collect())).samples
            assert sample.value == clock.now.timestamp()
            configs = await pool.fetch("SELECT DISTINCT config_id FROM api.snapshots_requested")
            assert [str(row[0]) for row in configs] == [config["id"]]
        shown = (await api.get(f"/api/v1/backup-configs/{config['id']}")).json()
        assert shown["last_fired_at"] is not None
        assert shown["last_error"] is None

    async def test_missed_slots_fire_once_on_return(self, api, pg_database, rabbit_url, namespace):
        await create(api)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            await both[0].tick()
            clock.now = LEAP_DAY + timedelta(minutes=42, seconds=10)  # down for 42 minutes
            await asyncio.gather(*(scheduler.tick() for scheduler in both))
            await asyncio.gather(*(scheduler.tick() for scheduler in both))
            slots, requests, _ = await counts(pool)
        assert slots == [LEAP_DAY, LEAP_DAY + timedelta(minutes=42)]
        assert requests == 4

    async def test_an_older_slot_never_fires_after_a_newer_one(
        self, api, pg_database, rabbit_url, namespace
    ):
        """A replica lagging behind (its pass began before the minute turned) fires nothing."""
        config = await create(api)
        clock = Clock(LEAP_DAY + timedelta(minutes=5))
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            await both[0].tick()
            [(stored, _)] = await both[1]._configs.scheduled()  # the racing read
            assert str(stored.id) == config["id"]
            assert not await both[1].fire(stored, LEAP_DAY + timedelta(minutes=4))
            slots, _, _ = await counts(pool)
        assert slots == [LEAP_DAY + timedelta(minutes=5)]


class TestWhatDoesNotFire:
    async def test_a_disabled_config_never_fires(self, api, pg_database, rabbit_url, namespace):
        await create(api, enabled=False)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            for minute in range(3):
                clock.now = LEAP_DAY + timedelta(minutes=minute)
                await asyncio.gather(*(scheduler.tick() for scheduler in both))
            assert await counts(pool) == ([], 0, 0)

    async def test_re_enabling_or_rescheduling_re_arms_but_a_rename_does_not(
        self, api, pg_database
    ):
        """Slots at or before `armed_at` never fire (unit-tested in due_slot): re-enabling a
        config must not fire a slot from while it was off."""
        config = await create(api, enabled=False)
        path = f"/api/v1/backup-configs/{config['id']}"
        conn = await asyncpg.connect(pg_database)
        try:
            armed = lambda: conn.fetchval("SELECT armed_at FROM api.backup_configs")  # noqa: E731
            first = await armed()
            assert (await api.patch(path, json={"name": "renamed"})).status_code == 200
            assert await armed() == first
            assert (await api.patch(path, json={"enabled": True})).status_code == 200
            enabled = await armed()
            assert enabled > first
            assert (await api.patch(path, json={"timezone": "Asia/Tokyo"})).status_code == 200
            assert await armed() > enabled
        finally:
            await conn.close()


class TestFailures:
    async def test_a_server_that_cannot_be_listed_is_one_failed_firing_with_its_reason(
        self, api, dumper, pg_database, rabbit_url, namespace
    ):
        config = await create(api, databases={"mode": "all"})
        dumper.replies["list_databases"] = {"ok": False, "error": "connection refused"}
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            await asyncio.gather(*(scheduler.tick() for scheduler in both))
            await both[0].tick()  # the same slot is not tried again
            slots, requests, _ = await counts(pool)
            assert slots == [LEAP_DAY]
            assert requests == 0
            error = await pool.fetchval("SELECT error FROM api.backup_config_firings")
            assert sum(fired(s, "failed") for s in both) == 1
            # The next slot tries again, and works once the server answers.
            dumper.replies["list_databases"] = {"ok": True, "databases": ["shop", "postgres"]}
            clock.now = LEAP_DAY + timedelta(minutes=1)
            await both[1].tick()
            slots, requests, _ = await counts(pool)
        assert error == "cannot list the databases of server 'prod': connection refused"
        assert requests == 1
        shown = (await api.get(f"/api/v1/backup-configs/{config['id']}")).json()
        assert shown["last_error"] is None
        listed = await api.get(f"/api/v1/backup-configs/{config['id']}/firings")
        assert listed.status_code == 200
        assert [(f["snapshots"], f["error"]) for f in listed.json()] == [(1, None), (0, error)]
        assert listed.json()[1]["scheduled_for"] == LEAP_DAY.isoformat().replace("+00:00", "Z")

    async def test_a_failed_firing_shows_on_the_config(
        self, api, dumper, pg_database, rabbit_url, namespace
    ):
        config = await create(api, databases={"mode": "pattern", "pattern": "nothing"})
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, _):
            await one[0].tick()
        shown = (await api.get(f"/api/v1/backup-configs/{config['id']}")).json()
        assert shown["last_error"] == "configuration 'leap' selects no database on server 'prod'"
        del dumper

    async def test_no_answer_postpones_the_firing_instead(
        self, api, pg_database, rabbit_url, namespace
    ):
        await create(api, databases={"mode": "all"})
        clock = Clock(LEAP_DAY)
        async with schedulers(
            pg_database, rabbit_url, namespace, clock, count=1, connected=False
        ) as (one, pool):
            await one[0].tick()
            assert await counts(pool) == ([], 0, 0)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, pool):
            clock.now = LEAP_DAY + timedelta(seconds=20)
            await one[0].tick()
            slots, requests, _ = await counts(pool)
        assert slots == [LEAP_DAY]
        assert requests == 2  # shop and crm from the fake dumper's list

    async def test_a_broken_config_does_not_stop_the_others(
        self, api, pg_database, rabbit_url, namespace
    ):
        await create(api)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, pool):
            await pool.execute(
                "INSERT INTO api.backup_configs (id, name, server_id, databases, volume_ids, "
                "compression, schedule) SELECT gen_random_uuid(), 'aaa-broken', server_id, "
                '\'{"mode": "weird"}\', volume_ids, compression, schedule FROM api.backup_configs'
            )
            await one[0].tick()
            slots, _, _ = await counts(pool)
        assert slots == [LEAP_DAY]
