"""A query asked while the broker connection is reopening after a RabbitMQ restart is a 503
sentence (UnavailableError), never a 500: the fault suite found POST /backups failing so."""

import pytest
from aiormq.exceptions import ChannelInvalidStateError, ConnectionClosed
from faststream.rabbit import RabbitBroker

from services.api.adapters.broker import BrokerLink
from services.api.errors import UnavailableError
from shared.topology import Topology


class DroppedBroker(RabbitBroker):
    """A broker whose channel is closed under it: a question cannot be sent."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def publish(self, *_args, **_kwargs):
        raise self.error


class TestBrokerLinkDrop:
    @pytest.mark.parametrize(
        "error",
        [ChannelInvalidStateError("channel closed"), ConnectionClosed(320, "CONNECTION_FORCED")],
        ids=["channel-closed", "connection-closed"],
    )
    async def test_dropped_connection_is_unavailable_with_a_sentence(self, error):
        link = BrokerLink(DroppedBroker(error), Topology("t", delivery_limit=1), query_timeout=1)
        link.ready.set()
        with pytest.raises(UnavailableError, match=r"broker connection dropped.*dumper"):
            await link.ask_dumper({"op": "list_databases"})
