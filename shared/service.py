"""The app factory every worker service uses, and the process runner every service uses."""

import asyncio
import functools
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker
from prometheus_client import CollectorRegistry

from shared.database import Pool, create_pool
from shared.events import Event
from shared.health import ASGIApp, Readiness, broker_check, database_check, health_routes
from shared.logging import get_logger
from shared.messaging import EventPublishers, build_broker
from shared.migrations import migrate
from shared.settings import CommonSettings, DatabaseSettings
from shared.topology import Topology, declare_topology

log = get_logger(__name__)

GRACEFUL_HTTP_SECONDS = 5
"""HTTP requests in flight get this long on SIGTERM; the broker gets its own graceful time."""


def build_worker_app(
    *,
    service: str,
    broker: RabbitBroker,
    topology: Topology,
    readiness: Readiness,
    registry: CollectorRegistry,
    resources: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    after_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    logger: Any = None,
) -> AsgiFastStream:
    """A FastStream app with the broker, its resources and `/healthz` `/readyz` `/metrics`.

    `resources` opens what the handlers need (a pool, migrations) before the broker
    starts consuming, and closes it after the broker has stopped.
    """

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with resources() if resources else _nothing():
            await broker.connect()
            await declare_topology(broker, topology)
            yield
        log.info("service_stopped", service=service)

    async def mark_ready() -> None:
        readiness.started = True
        log.info("service_ready", service=service)

    async def mark_stopping() -> None:
        readiness.started = False

    return AsgiFastStream(
        broker,
        asgi_routes=health_routes(readiness, registry),
        lifespan=lifespan,
        after_startup=[*after_startup, mark_ready],
        on_shutdown=[mark_stopping],
        logger=logger,
    )


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def serve(
    app: ASGIApp | AsgiFastStream,
    *,
    host: str,
    port: int,
    service: str,
    trusted_proxies: str | None = None,
) -> None:
    """Run `app` under uvicorn until SIGTERM or SIGINT, then stop gracefully.

    X-Forwarded-For is believed only from `trusted_proxies` (addresses or networks); the
    api's sign-in limits count the client's address it gives.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=trusted_proxies or "127.0.0.1,::1",
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS,
    )
    log.info("service_starting", service=service, host=host, port=port)
    # uvicorn traps SIGTERM/SIGINT itself and runs the lifespan shutdown, which stops the
    # broker: consumers are cancelled and the message in hand is finished or requeued.
    uvicorn.Server(config).run()


def freeze_startup_objects() -> None:
    """Put what start-up made (modules, the app, its schemas) beyond the garbage collector.

    A full collection walked all of it: 90 to 180 ms with the api's event loop stopped, the
    tail of its latency under load. Frozen, a collection walks only what requests make.
    """
    gc.collect()
    gc.freeze()


class Runtime:
    """What a service's handlers need at run time, filled in by its composition root."""

    def __init__(self) -> None:
        self._pool: Pool | None = None
        self.broker: RabbitBroker | None = None
        self.topology: Topology | None = None
        self.publishers: EventPublishers | None = None
        self.registry: CollectorRegistry | None = None
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def pool(self) -> Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is used before the service started")
        return self._pool

    def current_pool(self) -> Pool | None:
        return self._pool


async def cancel_tasks(runtime: Runtime) -> None:
    """Cancel the runtime's background tasks and wait until they have stopped."""
    tasks, runtime.tasks = runtime.tasks, []
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def database_resources(
    runtime: Runtime, settings: DatabaseSettings, *, schema: str, migrations: Path
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Open the pool and apply migrations at start-up; close the pool at shutdown."""

    @asynccontextmanager
    async def resources() -> AsyncIterator[None]:
        pool = await create_pool(settings)
        try:
            await migrate(pool, schema=schema, folder=migrations)
            runtime._pool = pool  # noqa: SLF001 - the lifespan owns the pool
            yield
        finally:
            # Background tasks (sweepers, relays) use the pool: stop them before closing it.
            await cancel_tasks(runtime)
            runtime._pool = None  # noqa: SLF001
            await pool.close()

    return resources


async def migrate_only(settings: DatabaseSettings, *, schema: str, migrations: Path) -> list[int]:
    """Apply migrations and exit: the `migrate` command of every service that owns tables."""
    pool = await create_pool(settings)
    try:
        return await migrate(pool, schema=schema, folder=migrations)
    finally:
        await pool.close()


Register = Callable[[RabbitBroker, Topology, Runtime], None]
"""Attaches a service's subscribers to its broker, given the runtime they will use."""


def build_service_app(
    *,
    service: str,
    settings: CommonSettings,
    schema: str,
    migrations: Path,
    register: Register,
    publishes: Sequence[type[Event]] = (),
    after_startup: Sequence[Callable[[Runtime], Awaitable[None]]] = (),
    runtime: Runtime | None = None,
) -> AsgiFastStream:
    """The composition every worker service shares: broker, pool, migrations, health.

    `publishes` names the events the service publishes: each gets a declared publisher
    (`runtime.publishers`) before `register` attaches the subscribers.
    """
    registry = CollectorRegistry()
    logger = get_logger(f"services.{service}")
    broker = build_broker(settings.broker, service=service, registry=registry, logger=logger)
    topology = Topology(settings.broker.namespace, settings.broker.delivery_limit)
    runtime = runtime or Runtime()
    runtime.broker = broker
    runtime.topology = topology
    runtime.registry = registry
    runtime.publishers = EventPublishers(broker, topology, publishes)
    # What handlers name by parameter (shared.messaging.DbPool, a service's Settings).
    broker.context.set_global("runtime", runtime)
    broker.context.set_global("settings", settings)
    register(broker, topology, runtime)
    readiness = Readiness(
        {"broker": broker_check(broker), "database": database_check(runtime.current_pool)}
    )
    hooks = [functools.partial(hook, runtime) for hook in after_startup]
    return build_worker_app(
        service=service,
        broker=broker,
        topology=topology,
        readiness=readiness,
        registry=registry,
        resources=database_resources(
            runtime, settings.database, schema=schema, migrations=migrations
        ),
        after_startup=hooks,
        logger=logger,
    )
