"""Restorer: a verify (not built yet) is answered with one RestoreFailed saying so."""

from uuid import uuid4

from pydantic import SecretStr

from services.dumper.restoring import NOT_AVAILABLE, Restorer
from shared.events import Event, RestoreFailed, RestoreRequested, RestoreSource, utc_now
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY


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
        restorer = Restorer(
            sealer=Sealer(SecretStr(DEV_SEAL_KEY)),
            targets=None,  # type: ignore[arg-type]
            open_volume=None,  # type: ignore[arg-type]
            publish=publish,
        )
        outcome = await restorer.restore(asked)
        assert published == [outcome]
        assert isinstance(outcome, RestoreFailed)
        assert (outcome.restore_id, outcome.snapshot_id) == (asked.restore_id, asked.snapshot_id)
        assert outcome.mode == "verify"
        assert outcome.reason == NOT_AVAILABLE
        assert outcome.target_dropped is False
