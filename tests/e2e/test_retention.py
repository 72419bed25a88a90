"""Retention, locks, dry runs and volume quotas on the real stack.

Real backups make the snapshots; only their ages are set by hand: the test backdates the
catalog's `created_at` (and the api's request row) in the stack's database, which is only the
clock. Pruning must then delete exactly the expected snapshots: artifact and manifest gone
from every volume, record `deleted`; everything kept stays, files included.
"""

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.naming import manifest_key
from tests.e2e.cli import Cli, assert_one_sentence
from tests.e2e.client import Api
from tests.fixtures.resources import scratch_pg_database, unique
from tests.support.env import free_port
from tests.support.stack import Stack, wait_ready

pytestmark = pytest.mark.timeout(600)
TINY_SOURCE_SQL = (
    "CREATE TABLE items (id int PRIMARY KEY, label text);"
    "INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 50) g;"
)


@pytest.fixture(scope="module")
async def tiny_source(postgres_url: str) -> AsyncIterator[str]:
    """A small PostgreSQL database: its dumps take a moment, so a test can make many."""
    async with scratch_pg_database(postgres_url, "dbm_ret_", sql=TINY_SOURCE_SQL) as name:
        yield name


@pytest.fixture
async def stack_db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    """The stack's own database (api and catalog schemas), to set snapshots' ages."""
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    yield conn
    await conn.close()


class Scenario:
    """One backup configuration over local volumes, and its snapshots."""

    def __init__(self, api: Api, db: asyncpg.Connection, volumes: list[Path]) -> None:
        self.api, self.db, self.dirs = api, db, volumes
        self.config_id = ""
        self.volume_ids: list[str] = []

    async def create(self, server_id: str, database: str, retention: dict[str, Any]) -> None:
        for path in self.dirs:
            self.volume_ids.append((await self.api.add_local_volume(path))["id"])
        body = {
            "name": unique("ret-"),
            "server_id": server_id,
            "databases": {"mode": "list", "names": [database]},
            "volume_ids": self.volume_ids,
            "retention": retention,
        }
        response = await self.api.http.post("/api/v1/backup-configs", json=body)
        assert response.status_code == 201, response.text
        self.config_id = response.json()["id"]

    async def snapshots_aged(self, *created: datetime) -> list[dict[str, Any]]:
        """One completed snapshot per `created`, backdated to it; in the given order."""
        ids = []
        for _ in created:
            response = await self.api.http.post(f"/api/v1/backup-configs/{self.config_id}/run")
            assert response.status_code == 202, response.text
            ids.append(response.json()["snapshots"][0]["id"])
        done = await asyncio.gather(*(self.api.wait_terminal(i, timeout=300) for i in ids))
        assert [s["status"] for s in done] == ["completed"] * len(ids), done
        for snapshot_id, when in zip(ids, created, strict=True):
            await self.db.execute(
                "UPDATE catalog.snapshots SET created_at = $2 WHERE id = $1::uuid",
                snapshot_id,
                when,
            )
            await self.db.execute(
                "UPDATE api.snapshots_requested SET requested_at = $2 WHERE id = $1::uuid",
                snapshot_id,
                when,
            )
        return [await self.api.snapshot(i) for i in ids]

    async def prune(self, *, dry_run: bool) -> dict[str, Any]:
        response = await self.api.http.post(
            f"/api/v1/backup-configs/{self.config_id}/prune",
            params={"dry_run": str(dry_run).lower()},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer["dry_run"] is dry_run
        return answer

    def files(self, snapshot: dict[str, Any]) -> list[Path]:
        """The artifact and manifest of `snapshot` on every volume of the configuration."""
        manifest = snapshot.get("manifest_path") or manifest_key(snapshot["path"])
        return [d / name for d in self.dirs for name in (snapshot["path"], manifest)]

    async def wait_deleted(self, snapshot_ids: set[str], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            statuses = {i: (await self.api.snapshot(i))["status"] for i in snapshot_ids}
            if all(s == "deleted" for s in statuses.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not all deleted after {timeout}s: {statuses}")
            await asyncio.sleep(0.3)

    async def remove(self) -> None:
        await self.api.http.delete(f"/api/v1/backup-configs/{self.config_id}")


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


async def assert_pruned_exactly(
    scenario: Scenario, gone: list[dict[str, Any]], kept: list[dict[str, Any]]
) -> None:
    """`gone` end deleted with their files removed from every volume; `kept` stay as they were."""
    await scenario.wait_deleted(ids(gone))
    for snapshot in gone:
        for path in scenario.files(snapshot):
            assert not path.exists(), f"{path} of a pruned snapshot is still there"
    for snapshot in kept:
        assert (await scenario.api.snapshot(snapshot["id"]))["status"] == "completed"
        for path in scenario.files(snapshot):
            assert path.is_file(), f"{path} of a kept snapshot is gone"


@pytest.fixture
async def pg_server(api: Api) -> dict[str, Any]:
    return await api.add_postgres_server()


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


class TestRetention:
    async def test_keep_last_with_a_lock_dry_run_then_apply_on_two_volumes(
        self, api, stack_db, pg_server, tiny_source, tmp_path
    ):
        scenario = Scenario(api, stack_db, [tmp_path / "first", tmp_path / "second"])
        for path in scenario.dirs:
            path.mkdir()
        await scenario.create(pg_server["id"], tiny_source, {"keep_last": 2})
        newest, second, third, oldest = await scenario.snapshots_aged(
            days_ago(0), days_ago(1), days_ago(2), days_ago(3)
        )
        for snapshot in (newest, second, third, oldest):
            assert snapshot["config_id"] == scenario.config_id
            assert all(p.is_file() for p in scenario.files(snapshot)), "a copy is missing"
        response = await api.http.post(f"/api/v1/snapshots/{oldest['id']}/lock")
        assert response.status_code == 200, response.text
        assert response.json() == {"id": oldest["id"], "locked": True}

        plan = await scenario.prune(dry_run=True)
        assert ids(plan["delete"]) == {third["id"]}
        assert ids(plan["keep"]) == {newest["id"], second["id"], oldest["id"]}
        reasons = {item["id"]: item["reasons"] for item in plan["keep"]}
        assert reasons[oldest["id"]] == ["locked"]
        assert "newest" in reasons[newest["id"]]
        await asyncio.sleep(2)  # a dry run deletes nothing, even a moment later
        assert (await api.snapshot(third["id"]))["status"] == "completed"
        assert all(p.is_file() for p in scenario.files(third))

        applied = await scenario.prune(dry_run=False)
        assert ids(applied["delete"]) == {third["id"]}
        await assert_pruned_exactly(scenario, [third], [newest, second, oldest])
        assert (await api.snapshot(oldest["id"]))["locked"] is True

        again = await scenario.prune(dry_run=True)
        assert again["delete"] == []
        await scenario.remove()

    async def test_keep_days(self, api, stack_db, pg_server, tiny_source, tmp_path):
        scenario = Scenario(api, stack_db, [tmp_path])
        await scenario.create(pg_server["id"], tiny_source, {"keep_days": 3})
        fresh, recent, old, older = await scenario.snapshots_aged(
            days_ago(0.5), days_ago(2.9), days_ago(3.1), days_ago(10)
        )
        applied = await scenario.prune(dry_run=False)
        assert ids(applied["delete"]) == {old["id"], older["id"]}
        await assert_pruned_exactly(scenario, [old, older], [fresh, recent])
        await scenario.remove()

    async def test_gfs_daily_weekly_monthly(self, api, stack_db, pg_server, tiny_source, tmp_path):
        """ISO weeks 12 and 11 and the months March and February of 2026, in UTC."""
        scenario = Scenario(api, stack_db, [tmp_path])
        retention = {"gfs": {"daily": 2, "weekly": 2, "monthly": 2}}
        await scenario.create(pg_server["id"], tiny_source, retention)

        def at(day: str, hour: int = 12) -> datetime:
            return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)

        made = await scenario.snapshots_aged(
            at("2026-03-18"),  # Wed, week 12: newest; daily 1, weekly 1, monthly 1 (March)
            at("2026-03-18", 6),  # the same day, earlier: pruned
            at("2026-03-17"),  # Tue: daily 2
            at("2026-03-16"),  # Mon, week 12: pruned
            at("2026-03-10"),  # Tue, week 11: weekly 2
            at("2026-03-09"),  # Mon, week 11: pruned
            at("2026-02-20"),  # February's newest: monthly 2
            at("2026-02-02"),  # pruned
        )
        kept = [made[0], made[2], made[4], made[6]]
        gone = [made[1], made[3], made[5], made[7]]
        plan = await scenario.prune(dry_run=True)
        assert ids(plan["delete"]) == ids(gone)
        reasons = {item["id"]: item["reasons"] for item in plan["keep"]}
        assert reasons == {
            made[0]["id"]: ["newest", "daily", "weekly", "monthly"],
            made[2]["id"]: ["daily"],
            made[4]["id"]: ["weekly"],
            made[6]["id"]: ["monthly"],
        }
        await scenario.prune(dry_run=False)
        await assert_pruned_exactly(scenario, gone, kept)
        await scenario.remove()


class TestLocks:
    async def test_a_locked_snapshot_cannot_be_deleted_until_unlocked(
        self, api, pg_server, tiny_source, volume_dir
    ):
        volume = await api.add_local_volume(volume_dir)
        (accepted,) = await api.backup(pg_server["id"], tiny_source, volume["id"])
        await api.wait_terminal(accepted["id"])
        locked = await api.http.post(f"/api/v1/snapshots/{accepted['id']}/lock")
        assert locked.status_code == 200, locked.text
        refused = await api.http.delete(f"/api/v1/snapshots/{accepted['id']}")
        assert refused.status_code == 409
        assert "snapshot is locked" in refused.json()["detail"]
        unlocked = await api.http.post(f"/api/v1/snapshots/{accepted['id']}/unlock")
        assert unlocked.json() == {"id": accepted["id"], "locked": False}
        deleted = await api.http.delete(f"/api/v1/snapshots/{accepted['id']}")
        assert deleted.status_code == 202, deleted.text

    async def test_lock_of_an_unknown_snapshot_is_404(self, api):
        response = await api.http.post(
            f"/api/v1/snapshots/{'0' * 8}-0000-4000-8000-{'0' * 12}/lock"
        )
        assert response.status_code == 404


class TestQuotas:
    async def test_refuse_then_warn(self, api, stack, pg_server, tiny_source, volume_dir):
        volume = await api.add_local_volume(volume_dir)
        (first,) = await api.backup(pg_server["id"], tiny_source, volume["id"])
        done = await api.wait_terminal(first["id"])
        assert done["status"] == "completed"
        usage = (await api.http.get(f"/api/v1/volumes/{volume['id']}/usage")).json()
        assert usage["used_bytes"] == done["size"] > 0
        assert usage["free_bytes"] > 0  # a local disk says
        assert (usage["quota_bytes"], usage["over_quota"]) == (None, False)

        quota = done["size"]  # reached exactly: at the quota counts as full
        changed = await api.http.patch(
            f"/api/v1/volumes/{volume['id']}", json={"quota_bytes": quota}
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["quota_bytes"], changed.json()["quota_action"]) == (quota, "refuse")
        refused = await api.http.post(
            "/api/v1/backups",
            json={"server_id": pg_server["id"], "database": tiny_source, "volume_id": volume["id"]},
        )
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert volume["name"] in detail
        assert f"uses {done['size']} bytes" in detail
        assert f"quota of {quota} bytes" in detail
        usage = (await api.http.get(f"/api/v1/volumes/{volume['id']}/usage")).json()
        assert (usage["quota_bytes"], usage["over_quota"]) == (quota, True)

        await api.http.patch(f"/api/v1/volumes/{volume['id']}", json={"quota_action": "warn"})
        (warned,) = await api.backup(pg_server["id"], tiny_source, volume["id"])
        assert (await api.wait_terminal(warned["id"]))["status"] == "completed"
        assert "volume_over_quota" in stack.logs()

        cleared = await api.http.patch(
            f"/api/v1/volumes/{volume['id']}", json={"quota_bytes": None}
        )
        assert cleared.json()["quota_bytes"] is None

    async def test_a_configuration_run_is_refused_too(
        self, api, stack_db, pg_server, tiny_source, volume_dir
    ):
        scenario = Scenario(api, stack_db, [volume_dir])
        await scenario.create(pg_server["id"], tiny_source, {})
        await scenario.snapshots_aged(days_ago(0))
        await api.http.patch(f"/api/v1/volumes/{scenario.volume_ids[0]}", json={"quota_bytes": 1})
        response = await api.http.post(f"/api/v1/backup-configs/{scenario.config_id}/run")
        assert response.status_code == 422, response.text
        assert "quota of 1 bytes" in response.json()["detail"]
        await scenario.remove()


def start_api_replica(stack: Stack, *, interval: str) -> subprocess.Popen[bytes]:
    """One more api process on the stack's database, running the automatic pass."""
    env = {**stack.env, "API_HTTP_PORT": str(free_port()), "API_RETENTION_INTERVAL": interval}
    process = stack.spawn("api", env, log_name=f"api-retention-{env['API_HTTP_PORT']}")
    wait_ready(f"http://127.0.0.1:{env['API_HTTP_PORT']}", process, stack)
    return process


class TestAutomaticPass:
    async def test_two_replicas_prune_each_snapshot_once(
        self, api, stack, event_spy, stack_db, pg_server, tiny_source, volume_dir
    ):
        """Both replicas run the pass every second; the advisory lock and the claimed run
        make exactly one of them prune each time, so each pruned snapshot gets exactly one
        delete request, and the newest stays."""
        scenario = Scenario(api, stack_db, [volume_dir])
        await scenario.create(pg_server["id"], tiny_source, {"keep_last": 1})
        newest, middle, oldest = await scenario.snapshots_aged(
            days_ago(0), days_ago(1), days_ago(2)
        )
        replicas = [start_api_replica(stack, interval="1") for _ in range(2)]
        try:
            await assert_pruned_exactly(scenario, [middle, oldest], [newest])
            await asyncio.sleep(4)  # several more passes on both replicas
        finally:
            for process in replicas:
                process.send_signal(signal.SIGTERM)
            for process in replicas:
                process.wait(timeout=15)
        mine = {newest["id"], middle["id"], oldest["id"]}
        deletes = [
            e["snapshot_id"]
            for e in event_spy.events()
            if e["snapshot_id"] in mine
            and "volume" in e
            and "manifest_path" in e
            and "attempt_id" not in e
        ]
        assert sorted(deletes) == sorted([middle["id"], oldest["id"]])
        assert (await api.snapshot(newest["id"]))["status"] == "completed"
        await scenario.remove()


class TestCli:
    async def test_lock_unlock_and_prune_dry_run_then_apply(
        self, api, stack, stack_db, pg_server, tiny_source, volume_dir
    ):
        cli = Cli(stack.api_url, stack.token)
        scenario = Scenario(api, stack_db, [volume_dir])
        await scenario.create(pg_server["id"], tiny_source, {"keep_last": 1})
        newest, old = await scenario.snapshots_aged(days_ago(0), days_ago(1))

        locked = await cli.run("snapshots", "lock", old["id"])
        assert locked.returncode == 0, locked.stderr
        assert f"snapshot {old['id']}: locked" in locked.stdout
        refused = await cli.run("snapshots", "rm", old["id"])
        assert_one_sentence(refused, "snapshot is locked")
        unlocked = await cli.run("snapshots", "unlock", old["id"])
        assert f"snapshot {old['id']}: unlocked" in unlocked.stdout

        config = (await api.http.get(f"/api/v1/backup-configs/{scenario.config_id}")).json()
        dry = await cli.run("configs", "prune", config["name"])
        assert dry.returncode == 0, dry.stderr
        assert "would delete (dry run; --apply to delete): 1" in dry.stdout
        assert old["id"] in dry.stdout
        assert (await api.snapshot(old["id"]))["status"] == "completed"

        applied = await cli.run("configs", "prune", config["name"], "--apply", "--json")
        assert applied.returncode == 0, applied.stderr
        answer = json.loads(applied.stdout)
        assert answer["dry_run"] is False
        assert [s["id"] for s in answer["delete"]] == [old["id"]]
        await assert_pruned_exactly(scenario, [old], [newest])
        await scenario.remove()
