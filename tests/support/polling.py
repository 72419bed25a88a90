"""Polling a service until a condition holds, the deadline checked between calls.

A call to a service here goes over the broker (or into an in-process ASGI app that asks the
broker): cancelling it from `asyncio.timeout` would cancel an AMQP call mid-way, which closes
the channel it was on, and aiormq's Python 3.11 `wait_for` may swallow that cancellation,
turning a failed wait into a test that polls until pytest's own timeout.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll_until(
    probe: Callable[[], Awaitable[T]],
    ready: Callable[[T], bool],
    *,
    timeout: float = 10,
    what: str = "the condition",
) -> T:
    """`probe()`'s first result for which `ready` holds; TimeoutError naming `what` and the
    last result once `timeout` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ready(result := await probe()):
        if loop.time() > deadline:
            raise TimeoutError(f"{what} did not hold within {timeout:g} s; last: {result!r}")
        await asyncio.sleep(0.05)
    return result
