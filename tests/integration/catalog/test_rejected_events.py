"""A malformed event is dead-lettered at once with its reason logged; the catalog goes on."""

import json
from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from shared.events import DumpStarted
from tests.support.dead_letters import publish_expecting_rejection, rejections

pytestmark = pytest.mark.integration


def dump_started(**changes: object) -> dict[str, object]:
    event = DumpStarted(
        snapshot_id=uuid4(),
        attempt_id=uuid4(),
        attempt=1,
        tool="pg_dump",
        tool_version="pg_dump (PostgreSQL) 15.14",
        server_version="15.14",
    )
    return {**event.model_dump(mode="json"), **changes}


class TestRejectedEvents:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"{not json", "the body is not JSON"),
            (b'{"schema_version": 2}', "unknown schema_version 2"),
            (None, "DumpStarted failed validation: tool: Field required"),
        ],
        ids=["not-json", "unknown-version", "missing-field"],
    )
    async def test_rejected_without_requeue_and_the_next_event_is_handled(
        self, catalog, rabbit_url, body, reason
    ):
        body = body or json.dumps({k: v for k, v in dump_started().items() if k != "tool"}).encode()
        with capture_logs() as logs:
            dead = await publish_expecting_rejection(
                rabbit_url, catalog.topology, "catalog", DumpStarted.routing_key, body
            )
            good = DumpStarted.model_validate(dump_started())
            await catalog.publish(good)
            snapshot = await catalog.wait_for(good.snapshot_id)

        assert dead.body == body
        rejected = rejections(logs, DumpStarted.routing_key)
        assert [line["reason"] for line in rejected] == [reason]
        assert rejected[0]["message_id"] == dead.message_id
        assert snapshot["status"] == "in_progress"

    async def test_the_reason_never_repeats_a_value(self, catalog, rabbit_url):
        """A wrong value may be a secret: the log names the field, not what was in it."""
        body = json.dumps(dump_started(tool_version={"password": "hunter2-secret"})).encode()
        with capture_logs() as logs:
            await publish_expecting_rejection(
                rabbit_url, catalog.topology, "catalog", DumpStarted.routing_key, body
            )
        rejected = rejections(logs, DumpStarted.routing_key)
        assert len(rejected) == 1
        assert "tool_version" in rejected[0]["reason"]
        assert "hunter2" not in repr(logs)
