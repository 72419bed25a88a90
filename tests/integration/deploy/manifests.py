"""What the deployment files must agree with in the code: settings names, queues, modules."""

from pathlib import Path

from pydantic_settings import BaseSettings

from services.api.settings import ApiSettings
from services.catalog.settings import CatalogSettings
from services.dumper.settings import DumperSettings
from services.uploader.settings import UploaderSettings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SERVICES = ("api", "dumper", "uploader", "catalog")
SETTINGS: dict[str, type[BaseSettings]] = {
    "api": ApiSettings,
    "dumper": DumperSettings,
    "uploader": UploaderSettings,
    "catalog": CatalogSettings,
}
CONTAINER_PORT = 8080
"""The port every service listens on inside its container (deploy/Dockerfile)."""
METRICS_PORT = 9090
"""The api's metrics port inside its container (API_METRICS_PORT, deploy/Dockerfile)."""


def env_names(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads, nested settings included."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            names |= env_names(kind)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def service_env_names(service: str) -> set[str]:
    """The variables one service reads."""
    return env_names(SETTINGS[service])


def any_service_env_names() -> set[str]:
    """The variables at least one service reads."""
    return set().union(*(service_env_names(s) for s in SERVICES))
