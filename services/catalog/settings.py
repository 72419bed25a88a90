"""Catalog settings (env prefix `CATALOG_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class CatalogSettings(CommonSettings):
    """Everything the catalog reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    http_port: int = Field(default=8003, ge=0, le=65535, description="Port of /healthz etc.")
    schema_name: str = Field(
        default="catalog", pattern=r"^[a-z_][a-z0-9_]*$", description="Its PostgreSQL schema."
    )
    progress_timeout: float = Field(
        default=300.0, gt=0, description="An in-progress snapshot silent this long is failed."
    )
    pending_timeout: float = Field(
        default=3600.0, gt=0, description="A pending snapshot never started this long is failed."
    )
    sweep_interval: float = Field(
        default=10.0, gt=0, description="How often stuck snapshots are looked for."
    )
