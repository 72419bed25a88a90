"""The api's composition root: FastAPI, with the broker and pool opened in its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from services.api.errors import ConflictError, NotFoundError, UnavailableError
from services.api.settings import ApiSettings
from shared.health import Readiness, broker_check, database_check, health_routes
from shared.logging import get_logger
from shared.messaging import build_broker
from shared.service import Runtime, database_resources, migrate_only
from shared.topology import Topology, declare_topology

migrations_folder = Path(__file__).parent / "migrations"
log = get_logger("services.api")


def build_settings() -> ApiSettings:
    return ApiSettings()


def build_app(settings: ApiSettings) -> FastAPI:
    """Wire the api: pool, migrations, broker, routers, health endpoints."""
    registry = CollectorRegistry()
    broker = build_broker(settings.broker, service="api", registry=registry, logger=log)
    topology = Topology(settings.broker.namespace, settings.broker.delivery_limit)
    runtime = Runtime()
    runtime.broker, runtime.topology, runtime.registry = broker, topology, registry
    readiness = Readiness(
        {"broker": broker_check(broker), "database": database_check(runtime.current_pool)}
    )
    resources = database_resources(
        runtime, settings.database, schema=settings.schema_name, migrations=migrations_folder
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with resources():
            await broker.start()
            await declare_topology(broker, topology)
            readiness.started = True
            log.info("service_ready", service="api")
            try:
                yield
            finally:
                readiness.started = False
                for task in runtime.tasks:
                    task.cancel()
                await broker.stop()
        log.info("service_stopped", service="api")

    app = FastAPI(
        title="Databasement",
        summary="Backups of MySQL, MariaDB and PostgreSQL servers to local and S3 volumes.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    for path, endpoint in health_routes(readiness, registry):
        app.router.routes.append(Route(path, endpoint, methods=["GET"], include_in_schema=False))
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    statuses = {NotFoundError: 404, ConflictError: 409, UnavailableError: 503}
    for error, status in statuses.items():

        async def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        app.add_exception_handler(error, handler)


async def migrations(settings: ApiSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
