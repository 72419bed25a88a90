"""A real api (in-process, over ASGI) and catalog on this test's namespace and database."""

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import aio_pika
import httpx
import pytest
from faststream import AckPolicy, TestApp
from faststream.rabbit import RabbitBroker
from pydantic import SecretStr

from services.api.adapters.tokens import TokenRepository
from services.api.app import build_app as build_api
from services.api.settings import ApiSettings
from services.api.tokens import new_token, token_hash
from services.catalog.app import build_app as build_catalog
from shared.settings import BrokerSettings, DatabaseSettings
from shared.topology import Topology
from tests.integration.catalog.conftest import catalog_settings
from tests.support.waiting import pushed_messages

CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:1/"
VOLUME_ROOTS = [Path("/srv"), Path("/c"), Path(tempfile.gettempdir())]
"""Where the tests' local volumes lie (made-up paths, and pytest's tmp_path)."""


def api_settings(broker_url: str, namespace: str, database_url: str, **extra: Any) -> ApiSettings:
    """The api's settings for a test; its metrics port is a free one unless `extra` says."""
    extra.setdefault("local_volume_roots", VOLUME_ROOTS)
    return ApiSettings(
        broker=BrokerSettings(url=SecretStr(broker_url), namespace=namespace, delivery_limit=2),
        database=DatabaseSettings(url=SecretStr(database_url)),
        **({"metrics_port": 0} | extra),
    )


@contextlib.asynccontextmanager
async def running_api(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The api app with its lifespan running, and a client that talks to it in-process
    with a fresh token (`client.token`)."""
    app = build_api(settings)
    async with app.router.lifespan_context(app):
        token = new_token()
        tokens = TokenRepository(app.state.runtime.pool, settings.schema_name)
        await tokens.add(uuid4(), "tests", token_hash(token))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://api",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            client.token = token  # type: ignore[attr-defined]
            yield client


DATABASES = ["shop", "crm", "postgres", "template1"]


class FakeService:
    """Answers a service's queries with `replies[op]`, and records what it was asked."""

    def __init__(self, replies: dict[str, dict[str, Any]] | None = None) -> None:
        self.replies: dict[str, dict[str, Any]] = replies or {}
        self.asked: list[dict[str, Any]] = []


FakeDumper = FakeService


@contextlib.asynccontextmanager
async def fake_service(
    rabbit_url: str, queue: Any, replies: dict[str, dict[str, Any]], asked: list[Any]
) -> AsyncIterator[None]:
    """A responder on a query queue: `replies[op]` for each query, recorded in `asked`."""
    broker = RabbitBroker(rabbit_url)

    @broker.subscriber(queue, ack_policy=AckPolicy.ACK)
    async def answer(body: dict[str, Any]) -> dict[str, Any]:
        asked.append(body)
        return replies.get(body.get("op", ""), {"ok": False, "error": "unknown query"})

    async with broker:
        await broker.start()
        yield


@pytest.fixture
def dumper_running() -> bool:
    """Whether a fake dumper answers; a test class may override this fixture."""
    return True


@pytest.fixture
async def dumper(
    rabbit_url: str, namespace: str, dumper_running: bool
) -> AsyncIterator[FakeDumper | None]:
    """A fake dumper answering list_databases (and whatever a test sets in `replies`)."""
    if not dumper_running:
        yield None
        return
    fake = FakeService({"list_databases": {"ok": True, "databases": list(DATABASES)}})
    queue = Topology(namespace, 2).dumper_queries
    async with fake_service(rabbit_url, queue, fake.replies, fake.asked):
        yield fake


@pytest.fixture
async def fake_catalog(rabbit_url: str, namespace: str) -> AsyncIterator[FakeService]:
    """A catalog answering whatever a test puts in `replies` (not with `catalog_app`)."""
    fake = FakeService()
    queue = Topology(namespace, 2).catalog_queries
    async with fake_service(rabbit_url, queue, fake.replies, fake.asked):
        yield fake


@pytest.fixture
async def fake_uploader(rabbit_url: str, namespace: str) -> AsyncIterator[FakeService]:
    """An uploader answering whatever a test puts in `replies`."""
    fake = FakeService()
    queue = Topology(namespace, 2).uploader_queries
    async with fake_service(rabbit_url, queue, fake.replies, fake.asked):
        yield fake


@pytest.fixture
async def snapshot_requests(rabbit_url: str, namespace: str) -> AsyncIterator[Callable[[], Any]]:
    """A test queue bound to the api's deletion and cancellation events."""
    async with event_queue(
        rabbit_url, namespace, ("snapshot.delete_requested", "snapshot.cancel_requested")
    ) as next_message:
        yield next_message


@pytest.fixture
def api_options() -> dict[str, Any]:
    """Settings overrides for the api under test; a test class may override this fixture."""
    return {"query_timeout": 3.0, "outbox_interval": 0.2, "usage_timeout": 0.3}


@pytest.fixture
async def api(
    rabbit_url: str,
    namespace: str,
    pg_database: str,
    api_options: dict[str, Any],
    dumper: FakeDumper | None,
) -> AsyncIterator[httpx.AsyncClient]:
    del dumper  # answering before the api asks
    async with running_api(api_settings(rabbit_url, namespace, pg_database, **api_options)) as c:
        yield c


@pytest.fixture
async def catalog_app(rabbit_url: str, namespace: str, pg_database: str) -> AsyncIterator[None]:
    """The real catalog on the same namespace and database (its own schema)."""
    async with TestApp(build_catalog(catalog_settings(rabbit_url, namespace, pg_database))):
        yield


@pytest.fixture
async def backup_requests(rabbit_url: str, namespace: str) -> AsyncIterator[Callable[[], Any]]:
    """A test queue bound to `backup.requested`; call the fixture to get the next message."""
    async with event_queue(rabbit_url, namespace, ("backup.requested",)) as next_message:
        yield next_message


@contextlib.asynccontextmanager
async def event_queue(
    rabbit_url: str, namespace: str, keys: tuple[str, ...]
) -> AsyncIterator[Callable[..., Any]]:
    """An exclusive queue bound to `keys`; yields a function awaiting its next message
    (TimeoutError when none comes within its `timeout`)."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        topology = Topology(namespace, delivery_limit=2)
        exchange = await channel.declare_exchange(
            topology.events.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        for key in keys:
            await queue.bind(exchange, routing_key=key)
        async with pushed_messages(queue) as next_message:
            yield next_message


async def register(
    api: httpx.AsyncClient, *, server: dict[str, Any] | None = None
) -> tuple[str, str]:
    """Register a server and a local volume; their ids."""
    body = {
        "name": "prod",
        "type": "postgresql",
        "host": "db.internal",
        "port": 5432,
        "username": "backup",
        "password": "hunter2-secret",
    } | (server or {})
    created = await api.post("/api/v1/servers", json=body)
    assert created.status_code == 201, created.text
    volume = await api.post(
        "/api/v1/volumes",
        json={"name": "nas", "type": "local", "config": {"path": "/srv/backups"}},
    )
    assert volume.status_code == 201, volume.text
    return created.json()["id"], volume.json()["id"]
