"""A malformed event is dead-lettered at once with its reason logged; the uploader goes on."""

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from shared.events import ChunkStaged
from tests.integration.uploader.test_uploader import local_spec, new_attempt
from tests.support.dead_letters import publish_expecting_rejection, raw_body, rejections

pytestmark = pytest.mark.integration


class TestRejectedEvents:
    @pytest.mark.parametrize(
        ("broken", "reason"),
        [
            (lambda _body: b"\xff\xfe not json", "the body is not JSON"),
            (lambda body: {**body, "schema_version": 7}, "unknown schema_version 7"),
            (
                lambda body: {k: v for k, v in body.items() if k != "seq"},
                "ChunkStaged failed validation: seq: Field required",
            ),
        ],
        ids=["not-json", "unknown-version", "missing-field"],
    )
    async def test_rejected_without_requeue_and_the_next_backup_is_stored(
        self, uploader, rabbit_url, tmp_path: Path, broken, reason
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        attempt = await new_attempt(uploader, local_spec(volume), (1000,))
        body = raw_body(broken(attempt.chunks[0].model_dump(mode="json")))

        with capture_logs() as logs:
            await publish_expecting_rejection(
                rabbit_url, uploader.topology, "uploader", ChunkStaged.routing_key, body
            )
            await uploader.publish(attempt.chunks[0], attempt.finished())
            stored = await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)

        rejected = rejections(logs, ChunkStaged.routing_key)
        assert [line["reason"] for line in rejected] == [reason]
        assert (volume / stored["path"]).read_bytes() == attempt.artifact
