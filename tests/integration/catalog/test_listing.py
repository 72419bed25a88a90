"""Listing at scale: keyset pages under every sort, filters, hidden deletions, index use."""

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.catalog.adapters.db import PageQuery, page_sql
from services.catalog.listing import decode_cursor, encode_cursor
from services.catalog.status import SnapshotRecord
from shared.events import (
    BackupStored,
    SnapshotCancelRequested,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotDeleteRequested,
)
from shared.queries import ListSnapshots, ServerActivity, VolumeActivity, VolumeUsage
from tests.support.snapshot_events import requested, started, stored

pytestmark = pytest.mark.integration

SCHEMA = "catalog"
# Rows with ties in both created_at (every 3 share a second) and size (7 distinct, some null),
# so the id tie-break is what keeps pages apart.
INSERT_ROWS = """
INSERT INTO catalog.snapshots (id, status, requested, server_id, server_name, database,
    volume_id, compression, created_at, size, last_event_at)
SELECT gen_random_uuid(),
       CASE WHEN g % 10 = 0 THEN 'deleted' WHEN g % 4 = 0 THEN 'failed' ELSE 'completed' END,
       true, $1::uuid, 'prod', 'db' || (g % 5), $2::uuid, 'gzip',
       timestamptz '2026-01-01' + (g / 3) * interval '1 second',
       CASE WHEN g % 9 = 0 THEN NULL ELSE (g % 7) * 100 END,
       now()
FROM generate_series(1, $3) g
"""
BULK_ROWS = """
INSERT INTO catalog.snapshots (id, status, requested, server_id, server_name, database,
    volume_id, compression, created_at, size, last_event_at)
SELECT gen_random_uuid(), CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'completed' END, true,
       ('00000000-0000-0000-0000-' || lpad((g % 200)::text, 12, '0'))::uuid, 'prod',
       'db' || (g % 40), ('00000000-0000-0000-0001-' || lpad((g % 20)::text, 12, '0'))::uuid,
       'gzip', timestamptz '2025-01-01' + g * interval '1 minute', g * 10, now()
FROM generate_series(1, 100000) g
"""


async def walk(catalog, query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[int]]:
    """Every snapshot the listing gives, following next_cursor; and each page's length."""
    seen: list[dict[str, Any]] = []
    sizes: list[int] = []
    cursor = None
    while True:
        reply = await catalog.ask(ListSnapshots(**query, cursor=cursor))
        assert reply["ok"], reply
        seen += reply["snapshots"]
        sizes.append(len(reply["snapshots"]))
        cursor = reply["next_cursor"]
        if cursor is None:
            return seen, sizes


@pytest.fixture
async def db(catalog, pg_database) -> Any:
    conn = await asyncpg.connect(pg_database)
    yield conn
    await conn.close()


class TestPagination:
    @pytest.mark.parametrize("sort", ["created_at", "-created_at", "size", "-size"])
    async def test_pages_of_50_walk_120_records_without_duplicates_or_gaps(self, catalog, db, sort):
        server, volume = uuid4(), uuid4()
        await db.execute(INSERT_ROWS, server, volume, 133)  # 13 of them deleted
        expected = await db.fetch(
            "SELECT id, created_at, COALESCE(size, -1) AS size FROM catalog.snapshots "
            "WHERE status <> 'deleted'"
        )
        assert len(expected) == 120
        seen, sizes = await walk(catalog, {"server_id": str(server), "limit": 50, "sort": sort})
        assert sizes == [50, 50, 20]
        ids = [s["id"] for s in seen]
        assert len(set(ids)) == 120
        assert set(ids) == {str(row["id"]) for row in expected}
        key = "created_at" if "created_at" in sort else "size"
        by_id = {str(row["id"]): (row[key], str(row["id"])) for row in expected}
        order = [by_id[i] for i in ids]
        assert order == sorted(order, reverse=sort.startswith("-"))

    async def test_filters_narrow_the_list_and_deleted_ones_show_only_when_asked(self, catalog, db):
        server, volume = uuid4(), uuid4()
        await db.execute(INSERT_ROWS, server, volume, 100)
        base = {"server_id": str(server), "limit": 500}
        everything, _ = await walk(catalog, base)
        assert len(everything) == 90
        assert all(s["status"] != "deleted" for s in everything)
        deleted, _ = await walk(catalog, {**base, "status": "deleted"})
        assert len(deleted) == 10
        failed_db1, _ = await walk(catalog, {**base, "status": "failed", "database": "db1"})
        assert {(s["status"], s["database"]) for s in failed_db1} == {("failed", "db1")}
        window = {
            **base,
            "created_from": "2026-01-01T00:00:10Z",
            "created_to": "2026-01-01T00:00:12Z",
        }
        in_window, _ = await walk(catalog, window)
        assert {s["created_at"][:19] for s in in_window} == {
            "2026-01-01T00:00:10", "2026-01-01T00:00:11", "2026-01-01T00:00:12"
        }  # fmt: skip
        other_volume, _ = await walk(catalog, {**base, "volume_id": str(uuid4())})
        assert other_volume == []

    async def test_default_limit_is_50_and_out_of_range_limits_are_refused(self, catalog, db):
        server = uuid4()
        await db.execute(INSERT_ROWS, server, uuid4(), 70)
        reply = await catalog.ask(ListSnapshots(server_id=server))
        assert len(reply["snapshots"]) == 50
        assert reply["next_cursor"] is not None
        for limit in (0, 501):
            bad = await catalog.ask(ListSnapshots().model_dump(mode="json") | {"limit": limit})
            assert bad["ok"] is False
            assert "limit" in bad["error"]

    async def test_a_cursor_of_another_sort_or_garbage_is_refused(self, catalog):
        when = requested(uuid4()).requested_at
        row = SnapshotRecord(id=uuid4(), status="completed", created_at=when, last_event_at=when)
        foreign = encode_cursor(row, "size")
        for cursor in (foreign, "garbage"):
            reply = await catalog.ask(ListSnapshots(cursor=cursor))
            assert reply["ok"] is False
            assert "cursor" in reply["error"]


class TestScale:
    @pytest.mark.parametrize(
        ("filters", "sort"),
        [
            ({"server_id": UUID("00000000-0000-0000-0000-000000000007")}, "-created_at"),
            ({"volume_id": UUID("00000000-0000-0000-0001-000000000003")}, "created_at"),
            ({"status": "failed"}, "-created_at"),
            ({"database": "db5"}, "-created_at"),
            ({}, "-size"),
            ({}, "-created_at"),
        ],
    )
    @pytest.mark.usefixtures("catalog")
    async def test_a_first_and_a_later_page_of_100k_records_are_index_scans(
        self, db, filters, sort
    ):
        await db.execute(BULK_ROWS)
        await db.execute("ANALYZE catalog.snapshots")
        first = PageQuery(filters=filters, sort=sort, limit=50)
        sql, args = page_sql(SCHEMA, first)
        rows = await db.fetch(sql, *args)
        assert len(rows) == 51
        plan = "\n".join(r[0] for r in await db.fetch("EXPLAIN " + sql, *args))
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "Sort" not in plan.split("Index")[0], plan  # ordered by the index, not sorted
        last = SnapshotRecord.model_validate({**dict(rows[49]), "manifest": None})
        after = decode_cursor(encode_cursor(last, sort), sort)
        sql, args = page_sql(SCHEMA, PageQuery(filters=filters, sort=sort, limit=50, after=after))
        plan = "\n".join(r[0] for r in await db.fetch("EXPLAIN " + sql, *args))
        assert "Seq Scan" not in plan, plan
        second = await db.fetch(sql, *args)
        assert {r["id"] for r in second}.isdisjoint({r["id"] for r in rows[:50]})


class TestActivityAndUsage:
    async def test_usage_counts_completed_sizes_and_activity_counts_live_snapshots(self, catalog):
        server, volume = uuid4(), uuid4()
        done, running, deleted = uuid4(), uuid4(), uuid4()
        await catalog.publish(
            requested(done, volume, server_id=server),
            stored(done, uuid4(), 5, volume_id=volume),
            requested(running, volume, server_id=server),
            started(running, uuid4(), 1),
            requested(deleted, volume, server_id=server),
            stored(deleted, uuid4(), 5, volume_id=volume),
            SnapshotDeleted(snapshot_id=deleted, volume_id=volume),
        )
        # Events are handled concurrently: wait for each request too (it brings the server).
        for sid, status in ((deleted, "deleted"), (running, "in_progress"), (done, "completed")):
            await catalog.wait_for(
                sid, lambda s, status=status: (s["status"], s["server_id"]) == (status, str(server))
            )
        usage = await catalog.ask(VolumeUsage(volume_id=volume))
        assert usage == {"ok": True, "bytes": 123, "snapshots": 1}
        activity = await catalog.ask(ServerActivity(server_id=server))
        assert activity == {"ok": True, "in_progress": 1, "snapshots": 2, "restores": 0}
        on_volume = await catalog.ask(VolumeActivity(volume_id=volume))
        assert on_volume == {"ok": True, "snapshots": 2}
        empty = await catalog.ask(VolumeActivity(volume_id=uuid4()))
        assert empty == {"ok": True, "snapshots": 0}


class TestDeleteAndCancel:
    async def test_delete_failure_is_recorded_then_success_makes_it_deleted(self, catalog):
        sid, volume = uuid4(), uuid4()
        manifest = {"format": 1, "chunks": [{"seq": 0}]}
        done = BackupStored(
            snapshot_id=sid, attempt_id=uuid4(), volume_id=volume, path="a/b.sql.gz",
            manifest_path="a/b.manifest.json", size=5, sha256="ab", manifest=manifest,
        )  # fmt: skip
        await catalog.publish(requested(sid, volume), done)
        stored_one = await catalog.wait_for(sid, lambda s: s["status"] == "completed")
        assert stored_one["manifest"] == manifest
        ask = SnapshotDeleteRequested(snapshot_id=sid, volume_id=volume, volume="sealed")
        refused = SnapshotDeleteFailed(snapshot_id=sid, volume_id=volume, reason="access denied")
        # One at a time: a redelivered request handled after the failure would clear its note
        # (the uploader only ever fails a delete it was asked for, so that is the real order).
        await catalog.publish(ask)
        await catalog.wait_for(sid, lambda s: "delete requested" in summaries_of(s))
        await catalog.publish(refused)
        kept = await catalog.wait_for(sid, lambda s: s["delete_error"] is not None)
        assert (kept["status"], kept["delete_error"]) == ("completed", "access denied")
        await catalog.publish(SnapshotDeleted(snapshot_id=sid, volume_id=volume))
        gone = await catalog.wait_for(sid, lambda s: s["status"] == "deleted")
        assert gone["delete_error"] is None
        summaries = summaries_of(gone)
        assert "delete failed: access denied" in summaries
        assert "artifact and manifest deleted" in summaries

    async def test_cancel_fails_a_pending_snapshot_with_cancelled(self, catalog):
        sid = uuid4()
        await catalog.publish(requested(sid), SnapshotCancelRequested(snapshot_id=sid))
        failed = await catalog.wait_for(sid, lambda s: s["status"] == "failed")
        assert failed["error"] == "cancelled"


def summaries_of(snapshot: dict[str, Any]) -> list[str]:
    return [entry["summary"] for entry in snapshot["timeline"]]
