"""The catalog's composition root."""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.catalog import handlers
from services.catalog.settings import CatalogSettings
from services.catalog.sweeper import start_sweeper
from shared.service import build_service_app, migrate_only

migrations_folder = Path(__file__).parent / "migrations"


def build_settings() -> CatalogSettings:
    return CatalogSettings()


def build_app(settings: CatalogSettings) -> AsgiFastStream:
    """Wire the catalog: broker, pool, migrations, subscribers, health endpoints."""
    return build_service_app(
        service="catalog",
        settings=settings,
        schema=settings.schema_name,
        migrations=migrations_folder,
        register=lambda broker, topology, _runtime: broker.include_router(
            handlers.build_router(topology, settings)
        ),
        publishes=handlers.PUBLISHES,
        after_startup=[start_sweeper(settings)],
    )


async def migrations(settings: CatalogSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
