"""The dumper's subscribers."""

from faststream.rabbit import RabbitBroker

from services.dumper.settings import DumperSettings
from shared.service import Runtime
from shared.topology import Topology


def register(
    broker: RabbitBroker, topology: Topology, runtime: Runtime, settings: DumperSettings
) -> None:
    """Attach the dumper's subscribers to `broker`."""
