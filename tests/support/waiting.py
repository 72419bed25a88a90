"""Waiting in tests without ever cancelling a call on an AMQP channel.

aiormq closes a channel whose call is cancelled, and its waits go through Python 3.11's
`asyncio.wait_for`, which swallows a cancellation that lands as the broker's reply does. So an
`asyncio.timeout` around `queue.get()` (or around an RPC to a service, or an in-process ASGI
request that makes one) may close the channel, lose a message taken with `no_ack`, or never
fire at all: a silence check then polls for ever. Waits here either take messages pushed into
a local `asyncio.Queue` (cancelling that is safe) or check a deadline between calls.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

T = TypeVar("T")
NextMessage = Callable[..., Awaitable[AbstractIncomingMessage]]


@contextlib.asynccontextmanager
async def pushed_messages(queue: AbstractQueue) -> AsyncIterator[NextMessage]:
    """Consume `queue` (no_ack) into memory; yields `next_message(timeout=10)`, which
    returns the next message or raises TimeoutError."""
    inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    tag = await queue.consume(inbox.put, no_ack=True)

    async def next_message(timeout: float = 10) -> AbstractIncomingMessage:
        async with asyncio.timeout(timeout):
            return await inbox.get()

    try:
        yield next_message
    finally:
        await queue.cancel(tag)


async def polled_message(
    queue: AbstractQueue, *, timeout: float = 10, no_ack: bool = False
) -> AbstractIncomingMessage:
    """The queue's next message by basic.get, the deadline checked between calls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (message := await queue.get(no_ack=no_ack, fail=False)) is None:
        if loop.time() > deadline:
            raise TimeoutError(f"no message on {queue.name} within {timeout:g} s")
        await asyncio.sleep(0.05)
    return message


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
