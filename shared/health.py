"""`/healthz`, `/readyz` and `/metrics` as plain ASGI endpoints every service mounts."""

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.database import Pool, ping

Check = Callable[[], Awaitable[None]]
"""A readiness check: returns when ready, raises with a sentence when not."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHECK_TIMEOUT = 2.0


class NotReadyError(Exception):
    """A dependency of the service does not answer."""


def broker_check(broker: RabbitBroker) -> Check:
    """Ready when the broker connection answers a ping."""

    async def check() -> None:
        if not await broker.ping(timeout=CHECK_TIMEOUT):
            raise NotReadyError("RabbitMQ does not answer")

    return check


def database_check(pool: Callable[[], Pool | None]) -> Check:
    """Ready when the service's PostgreSQL pool answers a ping."""

    async def check() -> None:
        current = pool()
        if current is None:
            raise NotReadyError("database pool is not open yet")
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await ping(current)
        except (OSError, TimeoutError) as exc:
            raise NotReadyError("PostgreSQL does not answer") from exc

    return check


class Readiness:
    """Runs every named check; the service is ready when all pass."""

    def __init__(self, checks: dict[str, Check]) -> None:
        self.checks = checks
        self.started = False

    async def report(self) -> tuple[bool, dict[str, str]]:
        if not self.started:
            return False, {"service": "starting"}
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await check()
            except Exception as exc:  # any failure of a dependency means "not ready"
                results[name] = str(exc) or type(exc).__name__
            else:
                results[name] = "ok"
        return all(v == "ok" for v in results.values()), results


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def health_routes(readiness: Readiness, registry: CollectorRegistry) -> list[tuple[str, ASGIApp]]:
    """The three operational endpoints as (path, ASGI app) pairs."""

    async def healthz(_scope: Scope, _receive: Receive, send: Send) -> None:
        await _respond(send, 200, _json({"status": "ok"}), "application/json")

    async def readyz(_scope: Scope, _receive: Receive, send: Send) -> None:
        ready, checks = await readiness.report()
        body = _json({"status": "ready" if ready else "not ready", "checks": checks})
        await _respond(send, 200 if ready else 503, body, "application/json")

    async def metrics(_scope: Scope, _receive: Receive, send: Send) -> None:
        await _respond(send, 200, generate_latest(registry), CONTENT_TYPE_LATEST)

    return [
        ("/healthz", AsgiEndpoint(healthz)),
        ("/readyz", AsgiEndpoint(readyz)),
        ("/metrics", AsgiEndpoint(metrics)),
    ]


class AsgiEndpoint:
    """An ASGI callable object, so Starlette's `Route` serves it as an app, not a function."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
