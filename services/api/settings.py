"""Api settings (env prefix `API_`)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings, SealSettings

DEV_CREDENTIALS_KEY = "ZGF0YWJhc2VtZW50LWRldi1jcmVkLWtleS0wMDAwMDA="
"""Fernet key for stored passwords in development only; refused in prod."""


class ApiSettings(CommonSettings):
    """Everything the api reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore")

    http_port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP API.")
    schema_name: str = Field(
        default="api", pattern=r"^[a-z_][a-z0-9_]*$", description="Its PostgreSQL schema."
    )
    credentials_key: SecretStr = Field(
        default=SecretStr(DEV_CREDENTIALS_KEY),
        description="Fernet key encrypting stored server passwords and volume secrets.",
    )
    query_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the catalog to answer a query."
    )
    outbox_interval: float = Field(
        default=0.5, gt=0, description="Seconds between outbox relay passes when idle."
    )
    seal: SealSettings = Field(default_factory=SealSettings)
