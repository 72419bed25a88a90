"""Back off before a message is retried when a server we depend on is briefly away.

Without it, a handler whose PostgreSQL is restarting fails, is nacked, is redelivered at
once and fails again: the whole delivery limit burns in a second or two and the snapshot is
dead-lettered as failed, though a few seconds' wait would have saved it (found by the fault
suite: a 3 s restart of the services' PostgreSQL failed backups in flight). Holding
the failed message a little longer before the nack spaces the deliveries out: with the
default limit they span about half a minute.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import BaseMiddleware, StreamMessage

from shared.database import CONNECTION_LOST
from shared.logging import get_logger

log = get_logger(__name__)

OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused or reset: the server is down or restarting
    *CONNECTION_LOST,
)
FIRST_WAIT = 1.0
LONGEST_WAIT = 8.0


def backoff(delivery_count: int) -> float:
    """Seconds to hold a failed message before its nack: 1, 2, 4, 8, 8, ..."""
    return float(min(FIRST_WAIT * 2 ** max(delivery_count, 0), LONGEST_WAIT))


def delivery_count(msg: StreamMessage[Any]) -> int:
    """How often the broker delivered this message before (quorum queues count it)."""
    headers = getattr(msg, "headers", None) or {}
    count = headers.get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0


class BackOffOnOutageMiddleware(BaseMiddleware):
    """Waits before letting an outage's failure reach the nack; other failures pass at once."""

    async def consume_scope(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[Any],
    ) -> Any:
        try:
            return await call_next(msg)
        except OUTAGES as exc:
            wait = backoff(delivery_count(msg))
            log.warning("dependency_unavailable", error=type(exc).__name__, retry_in=wait)
            await asyncio.sleep(wait)
            raise
