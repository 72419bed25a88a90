"""A malformed request is dead-lettered at once with its reason logged; the dumper goes on."""

import pytest
from structlog.testing import capture_logs

from shared.events import BackupRequested, DumpFinished
from tests.integration.dumper.conftest import pg_spec
from tests.support.dead_letters import publish_expecting_rejection, raw_body, rejections

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
        body = raw_body(broken(request.model_dump(mode="json")))

        with capture_logs() as logs:
            dead = await publish_expecting_rejection(
                rabbit_url, dumper.topology, "dumper", BackupRequested.routing_key, body
            )
            await dumper.publish(request)
            outcome = await dumper.outcome(request.snapshot_id)

        rejected = rejections(logs, BackupRequested.routing_key)
        assert [line["reason"] for line in rejected] == [reason]
        assert rejected[0]["message_id"] == dead.message_id
        # The sealed connection is in the body; the log line never carries it.
        assert request.connection not in repr(rejected)
        assert isinstance(outcome, DumpFinished)
