"""Restorer answers without the engine: one RestoreFailed saying so, about this restore."""

from uuid import uuid4

from services.dumper.restoring import NOT_AVAILABLE, Restorer
from shared.events import Event, RestoreFailed, RestoreRequested, RestoreSource, utc_now


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


class TestRestorer:
    async def test_a_request_is_answered_with_one_failure_naming_the_restore(self):
        published: list[Event] = []

        async def publish(event: Event) -> None:
            published.append(event)

        asked = request()
        outcome = await Restorer(publish=publish).restore(asked)
        assert published == [outcome]
        assert isinstance(outcome, RestoreFailed)
        assert (outcome.restore_id, outcome.snapshot_id) == (asked.restore_id, asked.snapshot_id)
        assert outcome.mode == "verify"
        assert outcome.reason == NOT_AVAILABLE
        assert outcome.target_dropped is False
