"""The dumper's composition root."""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.dumper import handlers
from services.dumper.settings import DumperSettings
from shared.service import build_service_app, migrate_only

migrations_folder = Path(__file__).parent / "migrations"


def build_settings() -> DumperSettings:
    return DumperSettings()


def build_app(settings: DumperSettings) -> AsgiFastStream:
    """Wire the dumper: broker, pool, migrations, subscribers, health endpoints."""
    return build_service_app(
        service="dumper",
        settings=settings,
        schema=settings.schema_name,
        migrations=migrations_folder,
        register=lambda broker, topology, runtime: handlers.register(
            broker, topology, runtime, settings
        ),
    )


async def migrations(settings: DumperSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
