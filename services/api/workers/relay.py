"""The outbox relay: publishes accepted requests' events, and keeps trying while it cannot."""

import asyncio
import contextlib

from services.api.adapters.outbox import Outbox, Publish
from shared.events import Event
from shared.logging import get_logger

log = get_logger(__name__)

BATCH = 100
PUBLISH_TIMEOUT = 10.0


class OutboxRelay:
    """Wakes on a new request or every `interval` seconds, and drains the outbox."""

    def __init__(self, outbox: Outbox, publish: Publish, *, interval: float) -> None:
        self._outbox = outbox
        self._publish = publish
        self._interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a request committed, so its event leaves at once."""
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled at shutdown."""
        while True:
            # Cleared before draining: a request committed during the drain wakes the next.
            self._wake.clear()
            if await self.drain():
                continue
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the shutdown's
            # cancellation when the wake-up lands at the same moment, and the relay never ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()

    async def drain(self) -> int:
        """One batch; how many events were published. Never raises but on cancellation."""
        try:
            sent, error = await self._outbox.relay(self._publish_bounded, limit=BATCH)
        except Exception:
            # The database is away: the rows are safe there; try again on the next pass.
            log.exception("outbox_relay_failed")
            return 0
        if sent:
            log.info("outbox_relayed", events=sent)
        if error is not None:
            log.warning("outbox_publish_failed", error=type(error).__name__, detail=str(error))
            return 0
        return sent if sent == BATCH else 0

    async def _publish_bounded(self, event: Event) -> None:
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await self._publish(event)
