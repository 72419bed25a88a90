"""A schedule fires exactly once per slot with TWO api replicas, on real processes.

Its own stack (namespace, database, staging) with two api processes whose schedulers race
for every slot: the duplicate check is the real (config_id, scheduled_for) primary key in the
real PostgreSQL. The schedule runs every 5 seconds (`*/5 * * * * *`, seconds first) so the
window holds several slots; every firing's snapshot must complete through the real dumper and
uploader. Then every api stops, slots pass, and one comes back: one firing, not one per slot.
"""

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import schemathesis

from services.api.adapters.configs import UNFINISHED
from tests.e2e.cli import Cli, assert_one_sentence
from tests.e2e.client import Api
from tests.e2e.conftest import E2E_SETTINGS
from tests.e2e.test_schemathesis import auth_headers, fuzz
from tests.fixtures.resources import (
    scratch_pg_database,
    unique,
)
from tests.support.env import free_port
from tests.support.isolated_stack import isolated_stack
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVERY_5_SECONDS = "*/5 * * * * *"
SLOT = timedelta(seconds=5)
WINDOW_SECONDS = 32
SETTLE = timedelta(seconds=4)
"""A slot this old has had every chance to fire; newer ones may still be firing."""


@pytest.fixture(scope="module")
async def two_api_stack(
    rabbit_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with isolated_stack(
        rabbit_url,
        postgres_url,
        tmp_path_factory.mktemp("schedules"),
        name="e2esched",
        settings=E2E_SETTINGS | {"API_SCHEDULER_INTERVAL": "1"},
    ) as stack:
        # A second api on a port of its own (replica=0 keeps the port given here).
        second, second_metrics = free_port(), free_port()
        extra = {"API_HTTP_PORT": str(second), "API_METRICS_PORT": str(second_metrics)}
        await asyncio.to_thread(stack.start, "api", extra=extra)
        stack.env["TEST_API_PORTS"] = f"{stack.ports['api']},{second}"
        stack.env["TEST_API_METRICS_PORTS"] = f"{stack.env['API_METRICS_PORT']},{second_metrics}"
        yield stack


@pytest.fixture(scope="module")
def schedule_database(two_api_stack: Stack) -> str:
    """The URL of the stack's own database (its firings and requests)."""
    return two_api_stack.env["DATABASE_URL"]


@pytest.fixture(scope="module")
async def source(postgres_url: str) -> AsyncIterator[str]:
    """A small PostgreSQL database to back up on every slot."""
    sql = (
        "CREATE TABLE orders (id int PRIMARY KEY, note text);"
        "INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 500) i;"
    )
    async with scratch_pg_database(postgres_url, "dbm_sched_src_", sql=sql) as name:
        yield name


def api_urls(stack: Stack) -> list[str]:
    """Each api replica's base URL."""
    return [f"http://127.0.0.1:{port}" for port in stack.env["TEST_API_PORTS"].split(",")]


def metrics_urls(stack: Stack) -> list[str]:
    """Each api replica's metrics port (API_METRICS_PORT: /metrics is not on the API's)."""
    ports = stack.env["TEST_API_METRICS_PORTS"].split(",")
    return [f"http://127.0.0.1:{port}" for port in ports]


def fired_counts(urls: list[str], config_id: str) -> list[float]:
    """databasement_scheduler_firings_total{outcome="fired"} of this config, per replica."""
    counts = []
    pattern = re.compile(
        r'^databasement_scheduler_firings_total\{config_id="'
        + config_id
        + r'",outcome="fired"\} (\S+)$',
        re.MULTILINE,
    )
    for url in urls:
        text = httpx.get(f"{url}/metrics", timeout=10).text
        match = pattern.search(text)
        counts.append(float(match.group(1)) if match else 0.0)
    return counts


def slots_between(start: datetime, end: datetime) -> list[datetime]:
    """Every 5-second slot in (start, end]."""
    first = start.replace(microsecond=0) + timedelta(seconds=5 - start.second % 5)
    slots = []
    while first <= end:
        slots.append(first)
        first += SLOT
    return slots


async def firings(database: str, config_id: str) -> list[tuple[datetime, int, str | None]]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT scheduled_for, snapshots, error FROM api.backup_config_firings "
            "WHERE config_id = $1 ORDER BY scheduled_for",
            config_id,
        )
        return [(row[0], row[1], row[2]) for row in rows]
    finally:
        await conn.close()


async def settled_firings(
    database: str, config_id: str, *, through: datetime, timeout: float = 60
) -> list[tuple[datetime, int, str | None]]:
    """The firings, once every one of a slot up to `through` is settled: a firing is claimed
    (0 snapshots, UNFINISHED) before it is planned, and planning takes longer under load."""
    async with asyncio.timeout(timeout):
        while True:
            fired = await firings(database, config_id)
            if all(error != UNFINISHED for slot, _, error in fired if slot <= through):
                return fired
            await asyncio.sleep(0.2)


async def requested(database: str, config_id: str) -> list[str]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT id FROM api.snapshots_requested WHERE config_id = $1", config_id
        )
        return [str(row[0]) for row in rows]
    finally:
        await conn.close()


async def add_every_5s_config(api: Api, source: str, volume_dir: Path, prefix: str) -> dict:
    """A configuration backing up `source` every 5 seconds to a new local volume in
    `volume_dir`, from a new server."""
    server = await api.add_postgres_server()
    volume_dir.mkdir()
    volume = await api.add_local_volume(volume_dir)
    response = await api.http.post(
        "/api/v1/backup-configs",
        json={
            "name": unique(prefix),
            "server_id": server["id"],
            "volume_ids": [volume["id"]],
            "databases": {"mode": "list", "names": [source]},
            "schedule": EVERY_5_SECONDS,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


class TestScheduleWithTwoApiReplicas:
    async def test_every_slot_fires_once_and_each_firing_completes(
        self, two_api_stack, schedule_database, source, tmp_path
    ):
        urls = api_urls(two_api_stack)
        assert len(urls) == 2
        api = Api(urls[0], two_api_stack.token)
        try:
            config = await add_every_5s_config(api, source, tmp_path / "volume", "every-5s-")
            created = datetime.fromisoformat(config["created_at"])
            await asyncio.sleep(WINDOW_SECONDS)
            settled = datetime.now(UTC) - SETTLE

            fired = await settled_firings(schedule_database, config["id"], through=settled)
            expected = slots_between(created, settled)
            in_window = [slot for slot, _, _ in fired if slot <= settled]
            assert len(expected) >= 5
            assert in_window == expected, "each slot exactly once, none missed"
            outcomes = [(count, error) for slot, count, error in fired if slot <= settled]
            assert outcomes == [(1, None)] * len(expected)

            # Both replicas' schedulers ran; together they counted each firing once.
            stop = await api.http.patch(
                f"/api/v1/backup-configs/{config['id']}", json={"enabled": False}
            )
            assert stop.status_code == 200
            await asyncio.sleep(1)  # a firing that committed just before counts itself after
            total = await firings(schedule_database, config["id"])
            cli = Cli(urls[1], two_api_stack.token)
            listed = await cli.run("configs", "firings", config["id"], "--limit", "1000", "--json")
            assert listed.returncode == 0, listed.stderr
            assert len(json.loads(listed.stdout)) == len(total)
            assert sum(fired_counts(metrics_urls(two_api_stack), config["id"])) == len(total)
            snapshot_ids = await requested(schedule_database, config["id"])
            assert len(snapshot_ids) == len(total)

            for snapshot_id in snapshot_ids:
                snapshot = await api.wait_terminal(snapshot_id, timeout=180)
                assert snapshot["status"] == "completed", snapshot.get("error")
                assert snapshot["database"] == source
        finally:
            await api.close()


class TestConfigsCli:
    """`databasement configs ...` against the real api, as an operator's script runs it."""

    async def test_create_show_update_run_delete(self, two_api_stack, source, tmp_path):
        cli = Cli(api_urls(two_api_stack)[0], two_api_stack.token)
        api = Api(cli.url, two_api_stack.token)
        try:
            server = await api.add_postgres_server()
            volume = await api.add_local_volume(tmp_path)
        finally:
            await api.close()
        name = unique("cli-")
        created = await cli.run(
            "configs", "create", name, "--server", server["name"], "--volume", volume["name"],
            "--database", source, "--compression", "zstd", "--level", "9",
            "--schedule", "0 3 * * *", "--timezone", "Europe/Berlin", "--keep-last", "7",
            "--gfs", "7,4,12", "--rpo-hours", "26", "--json",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        config = json.loads(created.stdout)
        assert config["databases"] == {
            "mode": "list", "names": [source], "pattern": None, "exclude": []
        }  # fmt: skip
        assert config["retention"] == {
            "keep_last": 7, "keep_days": None, "gfs": {"daily": 7, "weekly": 4, "monthly": 12}
        }  # fmt: skip
        assert config["post_backup_hook"] is None  # hooks: tests/e2e/notifications

        listed = await cli.run("configs", "list")
        assert listed.returncode == 0
        assert name in listed.stdout

        updated = await cli.run("configs", "update", name, "--keep-days", "30", "--disable")
        assert updated.returncode == 0, updated.stderr
        shown = json.loads((await cli.run("configs", "show", config["id"], "--json")).stdout)
        assert shown["retention"]["keep_days"] == 30
        assert shown["retention"]["keep_last"] == 7
        assert shown["enabled"] is False

        ran = await cli.run("configs", "run", name, "--json")
        assert ran.returncode == 0, ran.stderr
        [snapshot] = json.loads(ran.stdout)
        assert snapshot["status"] == "completed"
        assert snapshot["database"] == source

        deleted = await cli.run("configs", "delete", name)
        assert deleted.returncode == 0
        assert_one_sentence(
            await cli.run("configs", "show", name), f"no backup configuration is named {name!r}"
        )

    async def test_errors_are_one_sentence(self, two_api_stack):
        cli = Cli(api_urls(two_api_stack)[0], two_api_stack.token)
        api = Api(cli.url, two_api_stack.token)
        try:
            server = await api.add_postgres_server()
            # Never written; under the stack's local volume roots, clear of its staging area.
            volume = await api.add_local_volume(Path("/tmp/never-written"))  # noqa: S108
        finally:
            await api.close()
        base = ("configs", "create", unique("bad-"), "--server", server["id"], "--volume",
                volume["id"])  # fmt: skip
        assert_one_sentence(
            await cli.run(*base, "--schedule", "61 * * * *"), "is not a valid cron expression"
        )
        assert_one_sentence(await cli.run(*base, "--timezone", "Mars/Base"), "IANA time zone")
        assert_one_sentence(await cli.run(*base, "--level", "7"), "out of range for gzip: 0-3")
        assert_one_sentence(await cli.run(*base, "--pattern", "a("), "not a valid regular")
        assert_one_sentence(await cli.run(*base, "--gfs", "7,4"), "--gfs takes")
        assert_one_sentence(
            await cli.run("configs", "update", "nope", "--disable"),
            "no backup configuration is named 'nope'",
        )


class TestConfigRoutesFuzzing:
    """schemathesis on /api/v1/backup-configs alone (the whole-API run's time budget may end
    before reaching them on a loaded machine): no request gets a 5xx."""

    def test_no_backup_config_operation_answers_5xx(self, two_api_stack):
        url = api_urls(two_api_stack)[0]
        assert urlsplit(url).hostname == "127.0.0.1"
        schema = schemathesis.openapi.from_url(
            f"{url}/openapi.json",
            timeout=10,
            headers={"Authorization": f"Bearer {two_api_stack.token}"},
        )
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if result.ok().path.startswith("/api/v1/backup-configs")
            and not result.ok().path.endswith("/prune")  # retention's route, not this module's
        ]
        assert len(operations) == 7, [op.label for op in operations]
        server_errors: list[str] = []
        statuses: Counter[int] = Counter()
        for operation in operations:
            fuzz(operation, url, auth_headers(two_api_stack), server_errors, statuses)
        assert statuses[422] > 0, dict(statuses)
        assert not server_errors, "\n".join(server_errors)


class TestMissedSlots:
    async def test_slots_missed_while_every_api_was_down_fire_once_on_return(
        self, two_api_stack, schedule_database, source, tmp_path
    ):
        api = Api(api_urls(two_api_stack)[0], two_api_stack.token)
        try:
            config = await add_every_5s_config(api, source, tmp_path / "volume", "missed-")
        finally:
            await api.close()
        two_api_stack.kill("api")
        down_since = datetime.now(UTC)
        before = {slot for slot, _, _ in await firings(schedule_database, config["id"])}
        await asyncio.sleep(17)  # three slots or more pass with no api running
        restarting = datetime.now(UTC)
        two_api_stack.start("api")
        await asyncio.sleep(6)
        after = [slot for slot, _, _ in await firings(schedule_database, config["id"])]

        missed = slots_between(down_since, restarting)
        assert len(missed) >= 3
        new = [slot for slot in after if slot not in before]
        catch_up = new[0]
        # One firing for the latest due slot when the api came back (a slot may have passed
        # while it started), none for the earlier missed ones; then the schedule goes on.
        assert catch_up >= missed[-1]
        assert not [slot for slot in after if down_since < slot < catch_up]
        assert new == [catch_up + SLOT * i for i in range(len(new))]
