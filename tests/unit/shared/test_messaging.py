"""Declared event publishers and one typed handler per event, on FastStream's test broker."""

from typing import Annotated, Any
from uuid import uuid4

import pytest
from faststream import Context
from faststream.rabbit import RabbitBroker, RabbitQueue, TestRabbitBroker

from shared.events import DumpStarted, SnapshotCancelRequested, SnapshotStatusChanged
from shared.messaging import EventPublishers, UndeclaredEventError, subscribe_each
from shared.topology import Topology

TOPOLOGY = Topology("unit", delivery_limit=1)


def dump_started() -> DumpStarted:
    return DumpStarted(
        snapshot_id=uuid4(),
        attempt_id=uuid4(),
        attempt=1,
        tool="pg_dump",
        tool_version="pg_dump (PostgreSQL) 15.14",
        server_version="15.14",
    )


class TestEventPublishers:
    async def test_an_event_goes_out_through_its_declared_publisher(self):
        broker = RabbitBroker()
        publishers = EventPublishers(broker, TOPOLOGY, [DumpStarted, SnapshotStatusChanged])
        event = dump_started()
        async with TestRabbitBroker(broker):
            await publishers.publish(event)
            publishers[DumpStarted].mock.assert_called_once_with(event.model_dump(mode="json"))
            publishers[SnapshotStatusChanged].mock.assert_not_called()

    async def test_an_event_the_service_does_not_declare_is_refused(self):
        broker = RabbitBroker()
        publishers = EventPublishers(broker, TOPOLOGY, [SnapshotStatusChanged])
        async with TestRabbitBroker(broker):
            with pytest.raises(UndeclaredEventError, match="DumpStarted"):
                await publishers.publish(dump_started())


class TestSubscribeEach:
    async def test_each_event_reaches_the_handler_as_its_own_type_with_injected_params(self):
        broker = RabbitBroker()
        broker.context.set_global("flavour", "injected")
        seen: list[tuple[Any, str]] = []

        async def handle(event: Any, flavour: Annotated[str, Context("flavour")]) -> None:
            seen.append((event, flavour))

        subscriber = broker.subscriber(RabbitQueue("unit.all", routing_key="#"), TOPOLOGY.events)
        subscribe_each(subscriber, [DumpStarted, SnapshotCancelRequested], handle)
        started = dump_started()
        cancel = SnapshotCancelRequested(snapshot_id=uuid4(), reason="by the operator")
        async with TestRabbitBroker(broker) as test_broker:
            for event in (started, cancel):
                await test_broker.publish(
                    event.model_dump(mode="json"),
                    exchange=TOPOLOGY.events,
                    routing_key=event.routing_key,
                )
        assert seen == [(started, "injected"), (cancel, "injected")]
