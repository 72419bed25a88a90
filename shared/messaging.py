"""Broker construction, the log-context middleware and event publishing."""

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream import BaseMiddleware, StreamMessage
from faststream.rabbit import RabbitBroker
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import CollectorRegistry

from shared.events import Event
from shared.outages import BackOffOnOutageMiddleware
from shared.rejection import RejectMalformedMiddleware
from shared.settings import BrokerSettings
from shared.topology import Topology

_CONTEXT_KEYS = ("snapshot_id", "event_id")


class LogContextMiddleware(BaseMiddleware):
    """Binds `snapshot_id` and `event_id` to every log line of one message's handling."""

    async def consume_scope(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[Any],
    ) -> Any:
        body = await msg.decode()
        context: dict[str, Any] = {}
        if isinstance(body, dict):
            context = {key: body[key] for key in _CONTEXT_KEYS if key in body}
        with structlog.contextvars.bound_contextvars(**context):
            return await call_next(msg)


def build_broker(
    settings: BrokerSettings,
    *,
    service: str,
    registry: CollectorRegistry,
    logger: Any,
) -> RabbitBroker:
    """A broker with publisher confirms, graceful stop, metrics and log context."""
    return RabbitBroker(
        settings.url.get_secret_value(),
        graceful_timeout=settings.graceful_timeout,
        app_id=f"databasement-{service}",
        logger=logger,
        middlewares=(
            RabbitPrometheusMiddleware(registry=registry, app_name=service),
            LogContextMiddleware,
            BackOffOnOutageMiddleware,
            # Innermost: a malformed message becomes a reject before the others see it fail.
            RejectMalformedMiddleware,
        ),
    )


async def publish_event(broker: RabbitBroker, topology: Topology, event: Event) -> None:
    """Publish persistently and wait for the broker's confirm before returning."""
    await broker.publish(
        event.model_dump(mode="json"),
        exchange=topology.events,
        routing_key=type(event).routing_key,
        persist=True,
        message_id=str(event.event_id),
        message_type=type(event).__name__,
        content_type="application/json",
    )
