"""A selection pattern cannot freeze the api, and a slot is claimed before it is planned, so a
planning that fails or dies is one failed firing with its reason (real database and broker)."""

import asyncio
import time
from datetime import timedelta

import pytest

from services.api.adapters.configs import UNFINISHED
from services.api.configs.selection import MAX_LISTED
from tests.integration.api.test_scheduler import LEAP_DAY, Clock, counts, create, schedulers

pytestmark = pytest.mark.integration

BACKTRACKER = "(a+)+$"
FROZEN = 30.0
"""A /healthz slower than this means the loop is held: with Python's `re` the match below would
hold it for 2**60 steps, so this separates answering from frozen without timing the api."""


async def firings(api, config_id: str) -> list[tuple[int, str | None]]:
    listed = await api.get(f"/api/v1/backup-configs/{config_id}/firings")
    assert listed.status_code == 200, listed.text
    return [(firing["snapshots"], firing["error"]) for firing in listed.json()]


async def slowest_health_check(api, until: asyncio.Task) -> float:
    """Seconds of the slowest /healthz answer while `until` runs."""
    slowest = 0.0
    while not until.done():
        started = time.monotonic()
        response = await api.get("/healthz")
        assert response.status_code == 200
        slowest = max(slowest, time.monotonic() - started)
        await asyncio.sleep(0.01)
    return slowest


class TestPatternsCannotFreezeTheApi:
    async def test_a_backtracking_pattern_leaves_healthz_answering(
        self, api, dumper, pg_database, rabbit_url, namespace
    ):
        """With Python's `re` this pattern takes 2**60 steps on the name; RE2 answers at
        once, and the firing fails with the reason, once."""
        dumper.replies["list_databases"] = {
            "ok": True,
            "databases": ["a" * 60 + "b", *(f"{'a' * 200}{i}!" for i in range(2000))],
        }
        config = await create(api, databases={"mode": "pattern", "pattern": BACKTRACKER})
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, pool):
            ticking = asyncio.create_task(one[0].tick())
            assert await slowest_health_check(api, ticking) < FROZEN
            await ticking
            slots, requests, _ = await counts(pool)
        assert (slots, requests) == ([LEAP_DAY], 0)
        assert await firings(api, config["id"]) == [
            (0, "configuration 'leap' selects no database on server 'prod'")
        ]

    async def test_a_server_with_too_many_names_is_a_failed_firing_with_the_reason(
        self, api, dumper, pg_database, rabbit_url, namespace
    ):
        dumper.replies["list_databases"] = {
            "ok": True,
            "databases": [f"db{i}" for i in range(MAX_LISTED + 1)],
        }
        config = await create(api, databases={"mode": "pattern", "pattern": "db1.*"})
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, _):
            await one[0].tick()
            await one[0].tick()  # the failed slot is not tried again
        [(snapshots, error)] = await firings(api, config["id"])
        assert snapshots == 0
        assert error == (
            f"the server lists {MAX_LISTED + 1} databases; a pattern is matched against at "
            f"most {MAX_LISTED}: use mode 'list' or 'all'"
        )
        shown = (await api.get(f"/api/v1/backup-configs/{config['id']}")).json()
        assert shown["last_error"] == error

    async def test_a_pattern_re2_refuses_is_422_with_a_sentence(self, api):
        response = await api.post(
            "/api/v1/backup-configs",
            json={
                "name": "x",
                "server_id": "00000000-0000-0000-0000-000000000000",
                "volume_ids": ["00000000-0000-0000-0000-000000000000"],
                "databases": {"mode": "pattern", "pattern": r"(shop)_\1"},
            },
        )
        assert response.status_code == 422
        assert "not a valid regular expression (RE2 syntax" in response.text


class TestTheSlotIsClaimedFirst:
    async def test_a_slot_whose_planner_died_stays_failed_and_never_fires_again(
        self, api, pg_database, rabbit_url, namespace
    ):
        """The replica that claimed it died mid-planning: restarted replicas do not replan
        the slot (it may be what killed it); the next slot fires."""
        config = await create(api)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock) as (both, pool):
            [(stored, _)] = await both[0]._configs.scheduled()
            assert await both[0]._configs.claim(stored.id, LEAP_DAY, now=LEAP_DAY)
            # ... and that replica is gone. The others look at the same slot:
            await asyncio.gather(*(scheduler.tick() for scheduler in both))
            assert await counts(pool) == ([LEAP_DAY], 0, 0)
            clock.now = LEAP_DAY + timedelta(minutes=1)
            await both[1].tick()
            slots, requests, _ = await counts(pool)
        assert slots == [LEAP_DAY, LEAP_DAY + timedelta(minutes=1)]
        assert requests == 2
        assert await firings(api, config["id"]) == [(2, None), (0, UNFINISHED)]

    async def test_a_planning_that_crashes_is_settled_failed(
        self, api, pg_database, rabbit_url, namespace, monkeypatch
    ):
        config = await create(api)

        async def broken_plan(*_args, **_kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr("services.api.workers.scheduler.plan_backup_order", broken_plan)
        clock = Clock(LEAP_DAY)
        async with schedulers(pg_database, rabbit_url, namespace, clock, count=1) as (one, _):
            await one[0].tick()
        [(snapshots, error)] = await firings(api, config["id"])
        assert snapshots == 0
        assert error == "its planning failed unexpectedly; the api's log has the details"
