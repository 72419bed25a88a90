"""The dumper's restores on the real broker."""

import asyncio
from uuid import uuid4

import pytest

from shared.events import (
    DumpFailed,
    DumpStarted,
    RestoreFailed,
    RestoreFinished,
    RestoreRequested,
    RestoreSource,
    utc_now,
)
from shared.specs import LocalVolumeConfig, LocalVolumeSpec
from tests.integration.dumper.conftest import DumperStack, pg_spec

pytestmark = pytest.mark.integration


def restore_request(stack: DumperStack, postgres_url: str, database: str) -> RestoreRequested:
    volume = LocalVolumeSpec(config=LocalVolumeConfig(path="/srv/unused"))
    return RestoreRequested(
        snapshot_id=uuid4(),
        restore_id=uuid4(),
        mode="restore",
        server_id=uuid4(),
        server_type="postgresql",
        connection=stack.sealer.seal(pg_spec(postgres_url)),
        database=database,
        source=RestoreSource(
            volume_id=uuid4(),
            volume=stack.sealer.seal(volume),
            artifact_key="itest/x.sql.gz",
            manifest_key="itest/x.sql.gz.manifest.json",
            compression="gzip",
        ),
        requested_at=utc_now(),
    )


async def restore_outcome(stack: DumperStack, request: RestoreRequested, timeout: float = 60):
    async with asyncio.timeout(timeout):
        while True:
            done = stack.of(request.snapshot_id, RestoreFinished) + stack.of(
                request.snapshot_id, RestoreFailed
            )
            if done:
                return done
            await asyncio.sleep(0.05)


class TestRestoreRequests:
    async def test_a_restore_request_gets_exactly_one_outcome_and_is_acked(
        self, dumper, postgres_url
    ):
        request = restore_request(dumper, postgres_url, "dbm_never_made")
        await dumper.publish(request)
        outcomes = await restore_outcome(dumper, request)
        await asyncio.sleep(0.5)
        outcomes = dumper.of(request.snapshot_id, RestoreFinished) + dumper.of(
            request.snapshot_id, RestoreFailed
        )
        assert len(outcomes) == 1
        assert outcomes[0].restore_id == request.restore_id
        assert outcomes[0].mode == "restore"

    async def test_a_restore_request_is_not_taken_for_a_backup(self, dumper, postgres_url):
        request = restore_request(dumper, postgres_url, "dbm_never_made")
        await dumper.publish(request)
        await restore_outcome(dumper, request)
        assert not dumper.of(request.snapshot_id, DumpStarted)
        assert not dumper.of(request.snapshot_id, DumpFailed)
