"""The uploader's subscribers."""

from faststream.rabbit import RabbitBroker

from services.uploader.settings import UploaderSettings
from shared.service import Runtime
from shared.topology import Topology


def register(
    broker: RabbitBroker, topology: Topology, runtime: Runtime, settings: UploaderSettings
) -> None:
    """Attach the uploader's subscribers to `broker`."""
