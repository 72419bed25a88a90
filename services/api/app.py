"""The api's composition root: FastAPI, with the broker and pool opened in its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from services.api import api_docs, ui
from services.api.adapters.broker import BrokerLink
from services.api.adapters.outages import DATABASE_OUTAGES
from services.api.adapters.outbox import Outbox
from services.api.body_limit import BodyLimitMiddleware
from services.api.databases import DatabaseLists
from services.api.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
)
from services.api.keys import Keys
from services.api.load_shedding import LoadShedding
from services.api.notifications import hook_routes
from services.api.notifications.hook_catalog import load_hooks
from services.api.notifications.routes import overdue_router as overdue_routes
from services.api.notifications.routes import router as channel_routes
from services.api.notifications.subscriber import Notifications
from services.api.ops_port import ops_server
from services.api.routes import (
    backup_configs,
    backups,
    downloads,
    restores,
    retention,
    servers,
    snapshots,
    tokens,
    volumes,
)
from services.api.routes import dead_letters as dead_letter_routes
from services.api.routes import encryption as encryption_routes
from services.api.security_headers import SecurityHeadersMiddleware
from services.api.settings import DEV_CREDENTIALS_KEY, ApiSettings
from services.api.ui.sign_in_limits import PasswordChecks
from services.api.vault import Vault, VaultError, parse_keys
from services.api.workers.assembly import SharedParts, build_workers
from services.api.workers.relay import OutboxRelay
from shared.health import ASGIApp, Readiness, broker_check, database_check, health_routes
from shared.logging import get_logger
from shared.messaging import build_broker
from shared.sealing import Sealer
from shared.service import Runtime, database_resources, freeze_startup_objects, migrate_only
from shared.settings import refuse_dev_secrets
from shared.topology import Topology
from shared.volumes import VolumeError

migrations_folder = Path(__file__).parent / "migrations"
log = get_logger("services.api")


def build_settings() -> ApiSettings:
    settings = ApiSettings()
    refuse_dev_secrets(settings, settings.seal)
    if (
        settings.environment == "prod"
        and settings.credentials_key.get_secret_value() == DEV_CREDENTIALS_KEY
    ):
        raise ValueError("API_CREDENTIALS_KEY is the development default; set your own in prod")
    return settings


def build_app(settings: ApiSettings) -> FastAPI:
    """Wire the api: pool, migrations, broker link, outbox relay, routers, health endpoints."""
    registry = CollectorRegistry()
    broker = build_broker(settings.broker, service="api", registry=registry, logger=log)
    topology = Topology(settings.broker.namespace, settings.broker.delivery_limit)
    runtime = Runtime()
    runtime.broker, runtime.topology, runtime.registry = broker, topology, registry
    link = BrokerLink(broker, topology, query_timeout=settings.query_timeout)
    notifications = build_notifications(settings, runtime, link, registry)
    notifications.register(broker, topology)
    readiness = Readiness(
        {"broker": broker_check(broker), "database": database_check(runtime.current_pool)}
    )
    resources = database_resources(
        runtime, settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
    operations = health_routes(readiness, registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        port = ops_server(operations, host=settings.http_host, port=settings.metrics_port)
        async with resources(), port as app.state.metrics_port:
            relay = OutboxRelay(
                Outbox(runtime.pool, settings.schema_name),
                link.publish,
                interval=settings.outbox_interval,
            )
            app.state.relay = relay
            parts = SharedParts(
                settings,
                runtime,
                registry,
                link,
                app.state.keys,
                app.state.database_lists,
                notifications,
            )
            workers = build_workers(parts, relay)
            await workers.start()
            freeze_startup_objects()
            readiness.started = True
            log.info("service_ready", service="api")
            try:
                yield
            finally:
                readiness.started = False
                await workers.stop()
        log.info("service_stopped", service="api")

    app = FastAPI(
        title="Databasement",
        summary="Backups of MySQL, MariaDB and PostgreSQL servers to local and S3 volumes.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by api_docs, behind API_DOCS; ReDoc is not served.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.link = link
    # The hooks catalog is what the routes and the UI let a configuration name.
    app.state.notification_settings, app.state.hooks = (
        notifications.settings,
        notifications.hooks.catalog,
    )
    app.state.keys = Keys(vault=build_vault(settings), sealer=Sealer(settings.seal.key))
    app.state.database_lists = DatabaseLists(ttl=settings.database_list_ttl)
    app.state.password_checks = PasswordChecks(settings.login)
    routers = (
        servers,
        volumes,
        backups,
        backup_configs,
        snapshots,
        downloads,
        restores,
        tokens,
        dead_letter_routes,
        hook_routes,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(channel_routes)
    app.include_router(overdue_routes)
    app.include_router(retention.router)
    app.include_router(encryption_routes.router)
    app.include_router(ui.router)
    app.include_router(api_docs.router)
    app.mount(ui.STATIC_PATH, ui.static_files(), name="ui-static")
    _add_probes(app, operations)
    _add_error_handlers(app)
    _add_middleware(app, settings, registry)
    return app


def _add_middleware(app: FastAPI, settings: ApiSettings, registry: CollectorRegistry) -> None:
    """The last added runs first: shedding runs inside the body limit, which bounds what a
    refusal reads."""
    app.add_middleware(
        LoadShedding,
        limit=settings.max_requests_in_flight,
        max_lag=settings.max_loop_lag,
        max_wait=settings.max_accept_wait,
        registry=registry,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)


def build_notifications(
    settings: ApiSettings, runtime: Runtime, link: BrokerLink, registry: CollectorRegistry
) -> Notifications:
    """Notifications and hooks; the operator's hooks file is read here, once (HookFileError)."""
    hooks = load_hooks(settings.hooks.file, default_timeout=settings.notify.hook_timeout)
    return Notifications(
        runtime,
        link,
        settings.notify,
        schema=settings.schema_name,
        registry=registry,
        hooks=hooks,
        hook_concurrency=settings.hooks.concurrency,
        outbound=settings.outbound.policy(),
    )


def _add_probes(app: FastAPI, operations: list[tuple[str, ASGIApp]]) -> None:
    """The platform's probes stay on the HTTP port; /metrics is on the metrics port only."""
    for path, endpoint in operations:
        if path != "/metrics":
            app.router.routes.append(
                Route(path, endpoint, methods=["GET"], include_in_schema=False)
            )


def build_vault(settings: ApiSettings) -> Vault:
    """The credentials vault: the current key, and the previous ones during a rotation."""
    previous = settings.previous_credentials_keys
    return Vault(
        settings.credentials_key,
        previous=parse_keys(previous.get_secret_value()) if previous else (),
    )


UNAVAILABLE_RETRY_AFTER = "5"
"""Seconds a client is told to wait after a 503 (a service or the broker away)."""


def _add_error_handlers(app: FastAPI) -> None:
    statuses: dict[type[Exception], int] = {
        NotFoundError: 404,
        ConflictError: 409,
        InvalidRequestError: 422,
        UnavailableError: 503,
        VolumeError: 503,
        VaultError: 503,
    }
    for error, status in statuses.items():

        async def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            # A 503 is worth trying again: Retry-After says when.
            retry_after = getattr(exc, "retry_after", UNAVAILABLE_RETRY_AFTER)
            headers = {"Retry-After": retry_after} if status == 503 else None
            return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

        app.add_exception_handler(error, handler)
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.add_exception_handler(UnauthenticatedError, _unauthenticated)
    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, _database_unavailable)


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """503 with a sentence instead of a stack trace; the client may simply retry."""
    log.warning("database_unavailable", error=type(exc).__name__)
    return JSONResponse(
        {"detail": "the api's database is unavailable right now; try again in a few seconds"},
        status_code=503,
        headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
    )


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    """401 and nothing more: not whether the token was missing, unknown or revoked."""
    return JSONResponse(
        {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


async def _invalid_body(_request: Request, exc: Exception) -> JSONResponse:
    """422 with a sentence, and never the input back: a body may carry a password."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    problems = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    sentence = "; ".join(
        f"{'.'.join(str(part) for part in p['loc'])}: {p['msg']}" for p in problems
    )
    return JSONResponse(
        {"detail": f"invalid request: {sentence}", "errors": problems}, status_code=422
    )


async def migrations(settings: ApiSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
