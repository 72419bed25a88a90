"""Open the volume a destination names: unseal its spec and keep the driver for reuse."""

from collections import OrderedDict

from pydantic import TypeAdapter

from shared.events import Destination
from shared.outbound import STRICT, OutboundPolicy
from shared.sealing import Sealer
from shared.specs import VolumeSpec
from shared.volumes import Volume, open_volume

CACHE_SIZE = 32


class VolumeOpener:
    """Turns a destination's sealed volume spec into a driver, cached by its sealed token.

    One backup's events all carry the same token, so its chunks share one client and its
    connection pool.
    """

    def __init__(
        self, sealer: Sealer, *, cache_size: int = CACHE_SIZE, outbound: OutboundPolicy = STRICT
    ) -> None:
        self._sealer = sealer
        self._outbound = outbound
        self._cache: OrderedDict[str, Volume] = OrderedDict()
        self._cache_size = cache_size
        self._specs: TypeAdapter[VolumeSpec] = TypeAdapter(VolumeSpec)

    def open(self, destination: Destination) -> Volume:
        """The volume driver; raises `UnsealError` when the seal key does not open it."""
        return self.open_sealed(destination.volume)

    def open_sealed(self, token: str) -> Volume:
        """The driver of a sealed volume spec; `UnsealError` or `ValidationError` if it won't
        open."""
        volume = self._cache.get(token)
        if volume is None:
            spec = self._specs.validate_python(self._sealer.unseal(token))
            volume = open_volume(spec, outbound=self._outbound)
            self._cache[token] = volume
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(token)
        return volume
