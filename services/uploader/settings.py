"""Uploader settings (env prefix `UPLOADER_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.outbound import OutboundSettings
from shared.settings import CommonSettings, SealSettings, StagingSettings


class UploaderSettings(CommonSettings):
    """Everything the uploader reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="UPLOADER_", extra="ignore")

    http_port: int = Field(default=8002, ge=0, le=65535, description="Port of /healthz etc.")
    schema_name: str = Field(
        default="uploader", pattern=r"^[a-z_][a-z0-9_]*$", description="Its PostgreSQL schema."
    )
    prefetch: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Messages in hand at once, so several chunks upload concurrently.",
    )
    temp_grace: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds a `.tmp-*` file in a local volume (an assembly a crash cut "
        "short) is left alone; after a backup is stored on the volume, older ones of no "
        "running assembly are removed.",
    )
    staging: StagingSettings = Field(default_factory=StagingSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    seal: SealSettings = Field(default_factory=SealSettings)
