"""The api's own request body limit: 413 with a sentence, counted as the body streams in.

The gateway refuses oversized bodies too (deploy/nginx), but the api must not rely on it: a
replica reached directly (a port-forward, a sidecar, a misrouted Service) would otherwise read
any amount into memory. A declared Content-Length over the limit is refused before a byte is
read; a chunked or lying body is cut off as soon as the bytes received pass the limit.
"""

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger

log = get_logger(__name__)

TOO_LARGE = 413
DRAIN_FACTOR = 8
"""A body up to this many times the limit is read and dropped before the 413 (see drain_body)."""


def too_large_sentence(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes (API_MAX_BODY_BYTES)"


class BodyTooLargeError(HTTPException):
    """Raised inside the app when the streamed body passes the limit; it answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=TOO_LARGE, detail=too_large_sentence(limit))


class BodyLimitMiddleware:
    """Pure ASGI, so the body still streams: nothing is buffered to be measured."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            log.info("request_too_large", declared=declared, limit=self.max_bytes)
            if declared <= self.max_bytes * DRAIN_FACTOR and not _expects_continue(scope):
                await drain_body(receive)
            await _answer_too_large(send, self.max_bytes)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, self.max_bytes), sending)
        except BodyTooLargeError:
            # Raised where no exception handler sits (e.g. a body read in a middleware).
            if started:
                raise
            await _answer_too_large(send, self.max_bytes)


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                log.info("request_too_large", received=received, limit=limit)
                if message.get("more_body", False):
                    await drain_body(receive, budget=limit * DRAIN_FACTOR - received)
                # An HTTPException: FastAPI's body parsing re-raises it as is, and the
                # exception middleware turns it into the 413 below.
                raise BodyTooLargeError(limit)
        return message

    return counted


async def drain_body(receive: Receive, *, budget: int | None = None) -> None:
    """Read the rest of the body and drop it, so the client reads the 413 instead of a reset.

    A server that answers and closes while the client is still sending makes the kernel reset
    the connection, and the client may never see the answer. Up to DRAIN_FACTOR times the
    limit is read to the end (bounded work); a larger body is cut off.
    """
    read = 0
    while budget is None or read <= budget:
        message = await receive()
        read += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _expects_continue(scope: Scope) -> bool:
    """A client that waits for `100 Continue` has not sent its body: nothing to drain."""
    return any(
        name == b"expect" and value.lower() == b"100-continue"
        for name, value in scope.get("headers", ())
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large_sentence(limit)}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is not read: the connection cannot be reused.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": TOO_LARGE, "headers": headers})
    await send({"type": "http.response.body", "body": body})
