"""The uploader's composition root."""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from services.uploader import handlers
from services.uploader.settings import UploaderSettings
from shared.service import build_service_app, migrate_only
from shared.settings import refuse_dev_secrets

migrations_folder = Path(__file__).parent / "migrations"


def build_settings() -> UploaderSettings:
    settings = UploaderSettings()
    refuse_dev_secrets(settings, settings.seal)
    return settings


def build_app(settings: UploaderSettings) -> AsgiFastStream:
    """Wire the uploader: broker, pool, migrations, subscribers, health endpoints."""
    return build_service_app(
        service="uploader",
        settings=settings,
        schema=settings.schema_name,
        migrations=migrations_folder,
        register=lambda broker, topology, runtime: handlers.register(
            broker, topology, runtime, settings
        ),
        publishes=handlers.PUBLISHES,
    )


async def migrations(settings: UploaderSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
