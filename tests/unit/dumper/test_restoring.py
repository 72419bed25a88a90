"""Restorer refusals before any target is touched, and verify's row-count comparison."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

from pydantic import SecretStr

from services.dumper.restoring import Restorer
from services.dumper.tools import Tool
from services.dumper.verification import differences
from shared.anchors import anchor_of
from shared.events import (
    Event,
    RestoreFailed,
    RestoreRequested,
    RestoreSource,
    TableDifference,
    utc_now,
)
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.specs import ConnectionSpec, LocalVolumeConfig, LocalVolumeSpec


def request() -> RestoreRequested:
    return RestoreRequested(
        snapshot_id=uuid4(),
        restore_id=uuid4(),
        mode="verify",
        server_id=uuid4(),
        server_type="mariadb",
        connection="sealed",
        database="dbm_verify_0123abcd",
        source=RestoreSource(
            volume_id=uuid4(),
            volume="sealed",
            artifact_key="a.sql.zst",
            manifest_key="a.sql.zst.manifest.json",
            compression="zstd",
        ),
        requested_at=utc_now(),
    )


class TestDifferences:
    def test_changed_missing_and_extra_tables_are_named_in_order(self):
        found = differences(
            {"public.a": 3, "public.b": 5, "public.gone": 1},
            {"public.a": 3, "public.b": 4, "public.new": 0},
        )
        assert found == [
            TableDifference(table="public.b", expected=5, actual=4),
            TableDifference(table="public.gone", expected=1, actual=None),
            TableDifference(table="public.new", expected=None, actual=0),
        ]

    def test_equal_counts_differ_nowhere(self):
        assert differences({"t": 0, "u": 9}, {"u": 9, "t": 0}) == []


class FakeTargets:
    def __init__(self, client_version: str) -> None:
        self.client_version = client_version
        self.touched: list[str] = []

    async def client_tool(self, _spec: object) -> Tool:
        return Tool(path=Path("/usr/bin/psql"), version=self.client_version)

    async def exists(self, _spec: object, _database: str) -> bool:
        self.touched.append("exists")
        return False


class FakeVolume:
    def __init__(self, manifest: dict[str, object]) -> None:
        self.manifest = manifest

    async def read(self, _key: str) -> bytes:
        return json.dumps(self.manifest).encode()

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        yield await self.read(key)


def anchored(asked: RestoreRequested, manifest: dict[str, Any]) -> RestoreRequested:
    """`asked` carrying the catalog's record of `manifest` (as the api sends it)."""
    anchor = anchor_of(manifest, sha256=manifest["sha256"], size=manifest["size"])
    source = asked.source.model_copy(update={"anchor": anchor})
    return asked.model_copy(update={"source": source})


SEALER = Sealer(SecretStr(DEV_SEAL_KEY))


def postgres_restore() -> RestoreRequested:
    """A restore into a PostgreSQL target, its connection and volume sealed with SEALER."""
    spec = ConnectionSpec(
        type="postgresql", host="db", port=5432, username="u", password=SecretStr("pw")
    )
    volume = LocalVolumeSpec(config=LocalVolumeConfig(path="/srv/v"))
    return request().model_copy(
        update={
            "mode": "restore",
            "server_type": "postgresql",
            "connection": SEALER.seal(spec),
            "source": request().source.model_copy(update={"volume": SEALER.seal(volume)}),
        }
    )


def restorer_of(
    manifest: dict[str, object], targets: FakeTargets, published: list[Event], **options: Any
) -> Restorer:
    """A Restorer whose volume holds `manifest`, restoring into `targets`; what it publishes
    is appended to `published`."""

    async def publish(event: Event) -> None:
        published.append(event)

    return Restorer(
        sealer=SEALER,
        targets=targets,  # type: ignore[arg-type]
        open_volume=lambda _spec: FakeVolume(manifest),  # type: ignore[arg-type,return-value]
        publish=publish,
        **options,
    )


class TestVersionRefusal:
    async def test_an_older_psql_is_refused_before_any_target_is_touched(self):
        published: list[Event] = []
        manifest: dict[str, Any] = {
            "compression": "gzip",
            "size": 0,
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "tool_version": "pg_dump (PostgreSQL) 16.4",
            "chunks": [],
        }
        targets = FakeTargets("psql (PostgreSQL) 15.8")
        restorer = restorer_of(manifest, targets, published)
        outcome = await restorer.restore(anchored(postgres_restore(), manifest))
        assert isinstance(outcome, RestoreFailed)
        assert outcome.reason == (
            "psql 15 cannot restore a dump made by pg_dump 16; install postgresql-client-16"
        )
        assert targets.touched == []
        assert published == [outcome]


class TestCatalogAnchor:
    def manifest(self) -> dict[str, Any]:
        return {
            "compression": "gzip",
            "size": 10,
            "sha256": "a" * 64,
            "tool_version": "pg_dump (PostgreSQL) 16.4",
            "chunks": [{"seq": 0, "offset": 0, "size": 10, "sha256": "b" * 64}],
        }

    async def test_a_rewritten_manifest_is_refused_before_any_target_is_touched(self):
        published: list[Event] = []
        genuine = self.manifest()
        forged = genuine | {"chunks": [{"seq": 0, "offset": 0, "size": 10, "sha256": "c" * 64}]}
        targets = FakeTargets("psql (PostgreSQL) 16.4")
        restorer = restorer_of(forged, targets, published)

        outcome = await restorer.restore(anchored(postgres_restore(), genuine))

        assert isinstance(outcome, RestoreFailed)
        assert outcome.reason.startswith("artifact does not match the catalog (sha256 of the")
        assert targets.touched == []
        assert published == [outcome]

    async def test_a_request_without_the_catalogs_record_is_refused(self):
        published: list[Event] = []
        targets = FakeTargets("psql (PostgreSQL) 16.4")
        restorer = restorer_of(self.manifest(), targets, published)

        outcome = await restorer.restore(postgres_restore())

        assert isinstance(outcome, RestoreFailed)
        assert "no catalog record of the artifact" in outcome.reason
        assert targets.touched == []
