"""Every log line of one message's handling carries its snapshot_id and event_id."""

import asyncio
from uuid import uuid4

import pytest
import structlog
from faststream import AckPolicy
from structlog.testing import capture_logs

from shared.events import DumpProgressed
from shared.logging import get_logger
from shared.messaging import publish_event
from shared.topology import Topology, declare_topology
from tests.integration.foundation.conftest import broker_settings, make_broker

pytestmark = pytest.mark.integration


class TestLogContextMiddleware:
    async def test_handler_log_lines_are_bound_to_the_message(self, rabbit_url, namespace):
        topology = Topology(namespace, delivery_limit=2)
        broker = make_broker(broker_settings(rabbit_url, namespace))
        handled = asyncio.Event()
        log = get_logger("test.handler")

        @broker.subscriber(
            topology.queue("catalog"), topology.events, ack_policy=AckPolicy.NACK_ON_ERROR
        )
        async def on_event(body: dict[str, object]) -> None:
            log.info("progress_recorded")
            await asyncio.sleep(0)
            log.info("progress_checked")
            handled.set()

        event = DumpProgressed(
            snapshot_id=uuid4(),
            attempt_id=uuid4(),
            bytes_dumped=1,
            bytes_compressed=1,
            chunks_staged=0,
        )
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            async with broker:
                await broker.start()
                await declare_topology(broker, topology)
                await publish_event(broker, topology, event)
                await asyncio.wait_for(handled.wait(), timeout=10)

        lines = [entry for entry in logs if entry["event"].startswith("progress_")]
        assert [entry["event"] for entry in lines] == ["progress_recorded", "progress_checked"]
        for entry in lines:
            assert entry["snapshot_id"] == str(event.snapshot_id)
            assert entry["event_id"] == str(event.event_id)
