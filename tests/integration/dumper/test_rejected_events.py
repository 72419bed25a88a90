"""A malformed request is dead-lettered at once with its reason logged; the dumper goes on."""

import json

import pytest
from structlog.testing import capture_logs

from shared.events import BackupRequested, DumpFinished
from tests.integration.dumper.conftest import pg_spec
from tests.support.dead_letters import publish_raw, take_dead_letters

pytestmark = pytest.mark.integration


class TestRejectedEvents:
    @pytest.mark.parametrize(
        ("broken", "reason"),
        [
            (lambda _body: b"<xml/>", "the body is not JSON"),
            (lambda body: {**body, "schema_version": 2}, "unknown schema_version 2"),
            (
                lambda body: {**body, "server_type": "oracle", "surprise": 1},
                (
                    "BackupRequested failed validation: server_type: Input should be "
                    "'postgresql', 'mysql' or 'mariadb'; surprise: Extra inputs are not permitted"
                ),
            ),
        ],
        ids=["not-json", "unknown-version", "wrong-fields"],
    )
    async def test_rejected_without_requeue_and_the_next_backup_is_dumped(
        self, dumper, pg_source, postgres_url, rabbit_url, broken, reason
    ):
        source = await pg_source()
        request = dumper.request(pg_spec(postgres_url), source)
        bad = broken(request.model_dump(mode="json"))
        body = bad if isinstance(bad, bytes) else json.dumps(bad).encode()

        with capture_logs() as logs:
            message_id = await publish_raw(
                rabbit_url, dumper.topology, BackupRequested.routing_key, body
            )
            dead = await take_dead_letters(
                rabbit_url, dumper.topology.dead_letter_queue("dumper").name, count=1
            )
            await dumper.publish(request)
            outcome = await dumper.outcome(request.snapshot_id)

        assert [m.message_id for m in dead] == [message_id]
        assert dead[0].headers["x-first-death-reason"] == "rejected"
        assert dead[0].headers.get("x-delivery-count", 0) == 0
        rejected = [line for line in logs if line["event"] == "event_rejected"]
        assert [line["reason"] for line in rejected] == [reason]
        assert rejected[0]["message_id"] == message_id
        # The sealed connection is in the body; the log line never carries it.
        assert request.connection not in repr(rejected)
        assert isinstance(outcome, DumpFinished)
