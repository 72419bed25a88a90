"""A real catalog app on this test's broker namespace and PostgreSQL database."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker
from pydantic import SecretStr

from services.catalog.app import build_app
from services.catalog.settings import CatalogSettings
from shared.events import Event
from shared.messaging import publish_event
from shared.queries import GetSnapshot, Query
from shared.settings import BrokerSettings, DatabaseSettings
from shared.topology import Topology


@dataclass
class Catalog:
    """Drives a running catalog: publish events, ask queries, wait for a snapshot state."""

    broker: RabbitBroker
    topology: Topology

    async def publish(self, *events: Event) -> None:
        for event in events:
            await publish_event(self.broker, self.topology, event)

    async def ask(self, query: Query[Any] | dict[str, Any]) -> dict[str, Any]:
        """The catalog's reply as it travels; a dict is sent as it is (a malformed request)."""
        if isinstance(query, Query):
            query = query.model_dump(mode="json")
        response = await self.broker.request(query, queue=self.topology.catalog_queries, timeout=5)
        body: dict[str, Any] = await response.decode()  # type: ignore[assignment]
        return body

    async def snapshot(self, snapshot_id: UUID) -> dict[str, Any] | None:
        reply = await self.ask(GetSnapshot(snapshot_id=snapshot_id))
        return reply["snapshot"] if reply["ok"] else None

    async def wait_for(
        self,
        snapshot_id: UUID,
        ready: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 10,
    ) -> dict[str, Any]:
        """The snapshot once the catalog knows it and `ready` holds for it."""
        async with asyncio.timeout(timeout):
            while True:
                snapshot = await self.snapshot(snapshot_id)
                if snapshot is not None and ready(snapshot):
                    return snapshot
                await asyncio.sleep(0.05)


def catalog_settings(rabbit_url: str, namespace: str, database_url: str, **extra: Any):
    return CatalogSettings(
        broker=BrokerSettings(url=SecretStr(rabbit_url), namespace=namespace, delivery_limit=2),
        database=DatabaseSettings(url=SecretStr(database_url)),
        **extra,
    )


@pytest.fixture
def catalog_options() -> dict[str, Any]:
    """Settings overrides for the catalog under test; a test may override this fixture."""
    return {}


@pytest.fixture
async def catalog(
    rabbit_url: str, namespace: str, pg_database: str, catalog_options: dict[str, Any]
) -> AsyncIterator[Catalog]:
    settings = catalog_settings(rabbit_url, namespace, pg_database, **catalog_options)
    app = build_app(settings)
    async with TestApp(app):
        assert app.broker is not None
        yield Catalog(app.broker, Topology(namespace, settings.broker.delivery_limit))  # type: ignore[arg-type]
