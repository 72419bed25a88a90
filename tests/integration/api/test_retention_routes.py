"""Prune and lock routes through the real catalog, and the automatic pass's claim on
PostgreSQL: what is asked of the uploader is exactly the pruned snapshots, nothing on a dry
run, and a lock counts at once."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.api.adapters.retention import RetentionConfigs
from services.api.workers.retention import RetentionPass
from shared.events import BackupStored
from tests.integration.api.conftest import register
from tests.integration.api.test_snapshots import pipeline
from tests.support.snapshot_events import requested, stored
from tests.support.waiting import poll_until

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


async def make_config(api, retention: dict[str, Any]) -> tuple[str, str, str]:
    """A configuration of `shop` to one local volume; (config, server, volume) ids."""
    server_id, volume_id = await register(api)
    body = {
        "name": f"cfg-{uuid4().hex[:6]}",
        "server_id": server_id,
        "databases": {"mode": "list", "names": ["shop"]},
        "volume_ids": [volume_id],
        "retention": retention,
    }
    created = await api.post("/api/v1/backup-configs", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"], server_id, volume_id


async def completed(api, publish, ids: tuple[str, str, str], days: float) -> str:
    """A completed snapshot the configuration fired `days` ago, as the pipeline reports it."""
    config_id, server_id, volume_id = ids
    sid = uuid4()
    when = NOW - timedelta(days=days)
    fired = requested(sid, UUID(volume_id), server_id=UUID(server_id)).model_copy(
        update={"config_id": UUID(config_id), "requested_at": when}
    )
    done: BackupStored = stored(sid, uuid4(), 9).model_copy(
        update={"volume_id": UUID(volume_id), "path": f"prod/shop/{sid}.sql.gz"}
    )
    await publish(fired, done)
    await wait_status(api, str(sid), "completed")
    return str(sid)


async def keep_last_one(
    api, rabbit_url: str, namespace: str, *, days: tuple[float, ...]
) -> tuple[tuple[str, str, str], list[str]]:
    """A configuration keeping the last snapshot, and one completed snapshot of it per age in
    `days`: (its ids as make_config gives them, the snapshot ids in that order)."""
    ids = await make_config(api, {"keep_last": 1})
    async with pipeline(rabbit_url, namespace) as publish:
        snapshots = [await completed(api, publish, ids, age) for age in days]
    return ids, snapshots


async def wait_status(api, snapshot_id: str, status: str, timeout: float = 10) -> dict[str, Any]:
    """The snapshot once the catalog shows it with `status` (unknown a moment before)."""
    response = await poll_until(
        lambda: api.get(f"/api/v1/snapshots/{snapshot_id}"),
        lambda r: r.status_code == 200 and r.json()["status"] == status,
        timeout=timeout,
        what=f"{snapshot_id} {status}",
    )
    found: dict[str, Any] = response.json()
    return found


async def prune(api, config_id: str, **params: str) -> dict[str, Any]:
    response = await api.post(f"/api/v1/backup-configs/{config_id}/prune", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def no_message(next_message, wait: float = 1.0) -> bool:
    try:
        await next_message(timeout=wait)
    except TimeoutError:
        return True
    return False


@pytest.mark.usefixtures("catalog_app")
class TestPrune:
    async def test_dry_run_is_the_default_and_asks_nothing(
        self, api, rabbit_url, namespace, snapshot_requests
    ):
        ids, (new, old) = await keep_last_one(api, rabbit_url, namespace, days=(0, 1))
        answer = await prune(api, ids[0])
        assert answer["dry_run"] is True
        assert [s["id"] for s in answer["delete"]] == [old]
        assert [(s["id"], s["reasons"]) for s in answer["keep"]] == [(new, ["newest", "last"])]
        assert await no_message(snapshot_requests)

    async def test_apply_asks_the_uploader_for_exactly_the_pruned_ones(
        self, api, rabbit_url, namespace, snapshot_requests
    ):
        ids, (_, old, older) = await keep_last_one(api, rabbit_url, namespace, days=(0, 1, 2))
        answer = await prune(api, ids[0], dry_run="false")
        assert {s["id"] for s in answer["delete"]} == {old, older}
        asked = [json.loads((await snapshot_requests()).body) for _ in range(2)]
        assert {a["snapshot_id"] for a in asked} == {old, older}
        assert {a["volume_id"] for a in asked} == {ids[2]}
        assert {a["path"] for a in asked} == {
            f"prod/shop/{old}.sql.gz",
            f"prod/shop/{older}.sql.gz",
        }
        assert await no_message(snapshot_requests)
        again = await prune(api, ids[0], dry_run="false")
        assert again["delete"] == []  # already being deleted: not asked twice
        assert await no_message(snapshot_requests)

    async def test_a_lock_counts_at_once_for_prune_and_delete(
        self, api, rabbit_url, namespace, snapshot_requests
    ):
        ids, (_, old) = await keep_last_one(api, rabbit_url, namespace, days=(0, 1))
        locked = await api.post(f"/api/v1/snapshots/{old}/lock")
        assert locked.json() == {"id": old, "locked": True}
        refused = await api.delete(f"/api/v1/snapshots/{old}")
        assert refused.status_code == 409
        assert refused.json()["detail"] == "snapshot is locked: unlock it before deleting it"
        answer = await prune(api, ids[0], dry_run="false")
        assert answer["delete"] == []
        assert {s["id"]: s["reasons"] for s in answer["keep"]}[old] == ["locked"]
        assert await no_message(snapshot_requests)
        await wait_status(api, old, "completed")
        await poll_until(  # the catalog got the lock event too
            lambda: api.get(f"/api/v1/snapshots/{old}"),
            lambda r: r.json()["locked"],
            what=f"{old} locked in the catalog",
        )
        await api.post(f"/api/v1/snapshots/{old}/unlock")
        assert [s["id"] for s in (await prune(api, ids[0]))["delete"]] == [old]

    async def test_unknown_config_and_bad_flag(self, api):
        missing = await api.post(f"/api/v1/backup-configs/{uuid4()}/prune")
        assert missing.status_code == 404
        bad = await api.post(f"/api/v1/backup-configs/{uuid4()}/prune", params={"dry_run": "maybe"})
        assert bad.status_code == 422


class TestAutomaticPassClaim:
    async def test_one_pass_per_interval_across_replicas(self, api, pg_database):
        """Two replicas ticking together: one runs the pass, the other does not; a tick
        within the interval does not run another."""
        del api  # migrated the api schema
        pool = await asyncpg.create_pool(pg_database, min_size=2, max_size=4)
        try:
            replicas = [
                RetentionPass(
                    RetentionConfigs(pool, "api"),
                    lambda: pytest.fail("no config to prune"),
                    interval=60,
                )
                for _ in range(2)
            ]
            results = await asyncio.gather(*(r.tick() for r in replicas))
            assert sorted(results, key=lambda r: r is None) == [[], None]
            assert await replicas[0].tick() is None
            assert await replicas[1].tick() is None
            await pool.execute("UPDATE api.retention_runs SET last_run_at = now() - interval '1 h'")
            assert await replicas[1].tick() == []
        finally:
            await pool.close()
