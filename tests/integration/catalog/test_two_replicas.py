"""Two catalog replicas on one queue and one database never count an event twice."""

import asyncio
import json
import random
from collections import Counter
from uuid import uuid4

import aio_pika
import pytest
from faststream import TestApp

from services.catalog.app import build_app
from shared.events import SnapshotStatusChanged
from tests.integration.catalog.conftest import catalog_settings
from tests.support.snapshot_events import finished, progressed, requested, started, stored

pytestmark = pytest.mark.integration

SNAPSHOTS = 12


@pytest.fixture
async def announced(rabbit_url, catalog):
    """Every SnapshotStatusChanged the catalog replicas announce: (snapshot_id, status)."""
    seen: list[tuple[str, str]] = []
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(catalog.topology.events.name, SnapshotStatusChanged.routing_key)

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                body = json.loads(message.body)
                seen.append((body["snapshot_id"], body["status"]))

        await queue.consume(collect)
        yield seen


FOLDED = {"BackupRequested", "DumpStarted", "DumpFinished", "BackupStored"}
"""What the timeline shows once every event is folded (progress events it leaves out)."""


def _all_folded(snapshot: dict) -> bool:
    folded = {entry["event_type"] for entry in snapshot["timeline"]}
    return snapshot["status"] == "completed" and folded >= FOLDED


class TestTwoCatalogReplicas:
    async def test_every_event_twice_across_two_replicas_counts_once(
        self, catalog, announced, rabbit_url, namespace, pg_database
    ):
        """Each event is published twice (a redelivery) while two replicas consume at once."""
        second = build_app(catalog_settings(rabbit_url, namespace, pg_database))
        streams = {}
        for _ in range(SNAPSHOTS):
            sid, attempt = uuid4(), uuid4()
            streams[sid] = [
                requested(sid),
                started(sid, attempt, 1),
                progressed(sid, attempt, 2, 4096),
                finished(sid, attempt, 3, 8192),
                stored(sid, attempt, 4),
            ]
        events = [event for stream in streams.values() for event in stream for _ in range(2)]
        random.Random(9).shuffle(events)

        async with TestApp(second):
            await catalog.publish(*events)
            # Completed and every event folded: BackupStored may complete a snapshot before
            # its DumpFinished arrives (the broker keeps no order), whose totals come after.
            done = await asyncio.gather(
                *(catalog.wait_for(sid, _all_folded, timeout=60) for sid in streams)
            )

        for snapshot in done:
            assert snapshot["bytes_dumped"] == 8192
            assert snapshot["size"] == 123
            kinds = Counter(
                entry["event_type"]
                for entry in snapshot["timeline"]
                if entry["event_type"] != "SnapshotStatusChanged"  # the catalog's own, below
            )
            assert kinds == dict.fromkeys(
                ("BackupRequested", "DumpStarted", "DumpFinished", "BackupStored"), 1
            ), kinds
            assert len(snapshot["copies"]) == 1
        async with asyncio.timeout(20):  # every replica announces what it completed
            while sum(1 for _, status in announced if status == "completed") < SNAPSHOTS:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # a silence window: a second announcement would arrive in it
        counts = Counter(announced)
        assert [key for key, count in counts.items() if count > 1] == []
        assert {status for _, status in counts} >= {"completed"}
        assert sum(1 for _, status in counts if status == "completed") == SNAPSHOTS
