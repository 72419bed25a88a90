"""The last snapshot's size rides along in BackupRequested, so the dumper sizes its parts."""

import asyncio
from typing import Any
from uuid import uuid4

from services.api.backups import plan_backups
from services.api.errors import UnavailableError
from services.api.questions import last_snapshot_sizes
from shared.queries import ListSnapshots
from tests.unit.api.test_outbox_payload import NOW, keys, s3_volume, server


class FakeLink:
    """Answers list_snapshots with `sizes[database]` (absent: no snapshot)."""

    def __init__(self, sizes: dict[str, int], *, down: bool = False, ready: bool = True) -> None:
        self.sizes = sizes
        self.down = down
        self.asked: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        if ready:
            self.ready.set()

    async def ask_catalog(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        del wait
        self.asked.append(body)
        if self.down:
            raise UnavailableError("the catalog did not answer within 2 s")
        size = self.sizes.get(body["database"])
        return {"ok": True, "snapshots": [] if size is None else [{"size": size}]}


class TestLastSnapshotSizes:
    async def test_each_database_gets_its_newest_completed_snapshot_size(self):
        link = FakeLink({"shop": 123_456})
        server_id = uuid4()

        sizes = await last_snapshot_sizes(server_id, ["shop", "blog"], link)  # type: ignore[arg-type]

        assert sizes == {"shop": 123_456}
        assert ListSnapshots.model_validate(link.asked[0]) == ListSnapshots(
            status="completed", server_id=server_id, database="shop", limit=1
        )

    async def test_no_answer_means_no_hint_and_no_failure(self):
        assert await last_snapshot_sizes(uuid4(), ["shop"], FakeLink({}, down=True)) == {}  # type: ignore[arg-type]

    async def test_without_a_broker_nothing_is_asked(self):
        link = FakeLink({"shop": 1}, ready=False)
        assert await last_snapshot_sizes(uuid4(), ["shop"], link) == {}  # type: ignore[arg-type]
        assert not link.asked


class TestPlannedHint:
    def test_the_event_carries_the_size_of_its_own_database(self):
        vault, sealer = keys()
        planned = plan_backups(
            server(vault), [s3_volume(vault)], ["shop", "blog"], compression="gzip", now=NOW,
            vault=vault, sealer=sealer, expected_sizes={"shop": 99},
        )  # fmt: skip
        assert {event.database: event.expected_size for _, event in planned} == {
            "shop": 99,
            "blog": None,
        }
