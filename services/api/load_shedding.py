"""Refusing what a replica cannot take at once: 503 with Retry-After, before any work.

Two signs say a replica is behind, and either refuses a request that asks for work (a
backup or a restore) with 503, a sentence and Retry-After instead of letting it wait in a
queue that only grows:
- every one of `limit` slots is held by such a request still running;
- the event loop runs late: a timer due every LAG_PROBE seconds fires more than `max_lag`
  late. Then requests wait before any middleware sees them (in socket buffers, behind the
  loop's backlog), where counting slots cannot see them; refusing is cheap, so the loop
  catches up and the next answers come in time.
A request let in still has a deadline: one not ready to be stored `max_wait` seconds after it
arrived (the database or the loop slow under the workers' load) is refused the same way just
before it would be stored (services/api/deadlines.py), so every answer comes in about a second.
An accepted request is stored before its 202; a refused one stored nothing, so nothing is lost
by the refusal.
"""

import asyncio
import contextlib
import json
import time

from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.body_limit import drain_body
from services.api.deadlines import RETRY_AFTER, busy_sentence, store_by
from shared.logging import get_logger

log = get_logger(__name__)

BUSY = 503
SHED_PATHS = frozenset({"/api/v1/backups", "/api/v1/restores"})
LOG_EVERY = 1.0
"""Seconds between two log lines about refused requests (a burst would flood the log)."""
LAG_PROBE = 0.05
"""Seconds between two looks at how late the event loop runs."""


class LoopLag:
    """How late the event loop ran its last timer, measured in a task of its own."""

    def __init__(self) -> None:
        self.lag = 0.0
        self._task: asyncio.Task[None] | None = None

    def watch(self) -> None:
        """Start measuring (once), on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._measure())

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_PROBE
            await asyncio.sleep(LAG_PROBE)
            self.lag = max(0.0, loop.time() - due)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LoadShedding:
    """Pure ASGI: a refused request costs no parsing, no database and no broker."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        max_lag: float,
        max_wait: float,
        registry: CollectorRegistry | None = None,
        retry_after: int = RETRY_AFTER,
    ) -> None:
        self.app = app
        self.limit = limit
        self.max_lag = max_lag
        self.max_wait = max_wait
        self.retry_after = retry_after
        self.in_flight = 0
        self.shed = 0
        self.loop = LoopLag()
        self._logged_at = 0.0
        self.refused = Counter(
            "databasement_api_requests_shed",
            "Backup and restore requests this replica refused with 503 at once, by why: "
            "in_flight (API_MAX_REQUESTS_IN_FLIGHT) or loop_lag (API_MAX_LOOP_LAG).",
            ["reason"],
            registry=registry or CollectorRegistry(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _asks_for_work(scope):
            await self.app(scope, receive, send)
            return
        self.loop.watch()
        behind = self._behind()
        if behind is not None:
            reason, why = behind
            self.refused.labels(reason=reason).inc()
            await self._refuse(why, receive, send)
            return
        self.in_flight += 1
        try:
            with store_by(asyncio.get_running_loop().time() + self.max_wait):
                await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _behind(self) -> tuple[str, str] | None:
        if self.in_flight >= self.limit:
            return "in_flight", (
                f"{self.limit} backup and restore requests are being accepted on this replica "
                "(API_MAX_REQUESTS_IN_FLIGHT)"
            )
        if self.loop.lag > self.max_lag:
            return "loop_lag", (
                f"this replica runs {self.loop.lag * 1000:.0f} ms behind "
                f"(API_MAX_LOOP_LAG is {self.max_lag * 1000:.0f} ms)"
            )
        return None

    async def _refuse(self, why: str, receive: Receive, send: Send) -> None:
        self.shed += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.warning("requests_shed", refused=self.shed, reason=why)
        # The body is small (the body limit runs first); reading it lets the client read the
        # answer instead of a connection reset.
        await drain_body(receive)
        body = json.dumps({"detail": busy_sentence(why, self.retry_after)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": BUSY,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _asks_for_work(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in SHED_PATHS
