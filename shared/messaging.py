"""Broker construction, the log-context middleware, declared event publishers and typed
subscribers."""

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any

import structlog
from faststream import BaseMiddleware, Context, StreamMessage
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitRouter
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from faststream.rabbit.publisher import RabbitPublisher
from faststream.rabbit.subscriber import RabbitSubscriber
from prometheus_client import CollectorRegistry
from pydantic import PlainValidator

from shared.database import Pool
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


Publish = Callable[[Event], Awaitable[None]]
"""Publishes one event and returns once the broker has confirmed it."""


def _message_options(event: Event) -> dict[str, Any]:
    return {
        "message_id": str(event.event_id),
        "message_type": type(event).__name__,
        "content_type": "application/json",
    }


async def publish_event(broker: RabbitBroker, topology: Topology, event: Event) -> None:
    """Publish persistently and wait for the broker's confirm, without a declared publisher.

    For what stands outside the services (tests, scripts); a service publishes through its
    `EventPublishers`, so its AsyncAPI document lists what it publishes.
    """
    await broker.publish(
        event.model_dump(mode="json"),
        exchange=topology.events,
        routing_key=type(event).routing_key,
        persist=True,
        **_message_options(event),
    )


class UndeclaredEventError(Exception):
    """A service published an event it does not declare among the events it publishes."""


class EventPublishers:
    """One declared publisher per event a service publishes, on the events exchange.

    Declared on the service's broker or router, they are what its AsyncAPI document lists,
    each with its event's schema and docstring, and what tests assert through `.mock`.
    """

    def __init__(
        self,
        registrar: RabbitBroker | RabbitRouter,
        topology: Topology,
        events: Iterable[type[Event]],
    ) -> None:
        self._publishers: dict[type[Event], RabbitPublisher] = {
            event: registrar.publisher(
                exchange=topology.events,
                routing_key=event.routing_key,
                persist=True,
                schema=event,
                title=event.routing_key,
                description=(event.__doc__ or "").strip(),
            )
            for event in events
        }

    def __getitem__(self, event_type: type[Event]) -> RabbitPublisher:
        return self._publishers[event_type]

    async def publish(self, event: Event) -> None:
        """Publish persistently through the event's publisher and wait for the confirm."""
        publisher = self._publishers.get(type(event))
        if publisher is None:
            raise UndeclaredEventError(
                f"{type(event).__name__} is not among the events this service declares"
            )
        await publisher.publish(event.model_dump(mode="json"), **_message_options(event))


def routed(*routing_keys: str) -> Callable[[RabbitMessage], bool]:
    """A FastStream filter: the messages published under one of `routing_keys`."""

    def matches(message: RabbitMessage) -> bool:
        return message.raw_message.routing_key in routing_keys

    return matches


DbPool = Annotated[Pool, Context("runtime.pool")]
"""The service's database pool, given to a handler that names it (opened at start-up)."""
Publishers = Annotated[EventPublishers, Context("runtime.publishers")]
"""The service's declared publishers, given to a handler that names them."""

EventHandler = Callable[..., Awaitable[None]]
"""Handles one validated event, its first parameter; the others are injected by FastStream."""


def subscribe_each(
    subscriber: RabbitSubscriber, events: Sequence[type[Event]], handle: EventHandler
) -> None:
    """One typed handler per event on `subscriber`, each taking its event's routing key.

    Each body is validated by its own event's model (a bad one is rejected, see
    shared/rejection.py), and the AsyncAPI document shows every event's payload.
    """
    for event_type in events:
        subscriber(filter=routed(event_type.routing_key))(_typed(event_type, handle))


def _typed(event_type: type[Event], handle: EventHandler) -> EventHandler:
    async def on_event(**params: Any) -> None:
        await handle(**params)

    # FastStream validates and documents a handler's body by its first parameter's
    # annotation: `handle`'s own signature, with that parameter narrowed to `event_type`.
    signature = inspect.signature(handle)
    first, *rest = signature.parameters.values()
    narrowed = signature.replace(parameters=[first.replace(annotation=event_type), *rest])
    # inspect.signature reads __signature__, which mypy does not know functions have.
    on_event.__signature__ = narrowed  # type: ignore[attr-defined]
    on_event.__name__ = on_event.__qualname__ = f"on_{_snake(event_type.__name__)}"
    return on_event


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def documented_as(schema: Any) -> PlainValidator:
    """Annotates a handler's body: taken as it came, documented in AsyncAPI as `schema`.

    For a request its answerer validates itself, so that a malformed one is answered with a
    refusal naming its fields (shared/queries) instead of being rejected without a reply.
    """
    return PlainValidator(_as_received, json_schema_input_type=schema)


def _as_received(body: Any) -> Any:
    return body
