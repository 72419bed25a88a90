"""Connection settings shared by every service, each read from its own environment prefix.

Services compose these into their own `BaseSettings` (STYLE.md rule 15). Nothing here reads
the environment at import time: a settings object is built only by `build_app()`.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SEAL_KEY = "ZGF0YWJhc2VtZW50LWRldi1zZWFsLWtleS0wMDAwMDA="
"""A fixed Fernet key for local development only; refused outside dev."""


class BrokerSettings(BaseSettings):
    """Where RabbitMQ is, and how messages are retried (env prefix `BROKER_`)."""

    model_config = SettingsConfigDict(env_prefix="BROKER_", extra="ignore")

    url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        description="AMQP URL of RabbitMQ, credentials included.",
    )
    namespace: str = Field(
        default="databasement",
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Prefix of every exchange and queue name, so stacks can share a vhost.",
    )
    delivery_limit: int = Field(
        default=5,
        ge=1,
        description="Deliveries of one message before it is dead-lettered.",
    )
    graceful_timeout: float = Field(
        default=8.0,
        gt=0,
        description="Seconds a stopping service waits for the message in hand, then requeues it.",
    )


class DatabaseSettings(BaseSettings):
    """The PostgreSQL database holding the services' own tables (env prefix `DATABASE_`)."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_", extra="ignore")

    url: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/databasement"),
        description="PostgreSQL URL; each service keeps its tables in its own schema there.",
    )
    pool_min: int = Field(default=1, ge=0, description="Connections kept open per process.")
    pool_max: int = Field(default=5, ge=1, description="Connections at most per process.")
    create_database: bool = Field(
        default=True,
        description="Create the database named in the URL at start-up if it does not exist.",
    )


class StagingSettings(BaseSettings):
    """The staging area chunks pass through between dumper and uploader (prefix `STAGING_`)."""

    model_config = SettingsConfigDict(env_prefix="STAGING_", extra="ignore")

    kind: Literal["local", "s3"] = Field(
        default="local", description="A shared directory, or an S3 bucket."
    )
    path: Path = Field(
        default=Path("var/staging"),
        description="The directory, when kind is local; dumper and uploader must both see it.",
    )
    s3_endpoint: str = Field(default="", description="host:port of the S3 server (kind s3).")
    s3_bucket: str = Field(default="", description="Bucket for staged chunks (kind s3).")
    s3_access_key: SecretStr = Field(default=SecretStr(""), description="S3 access key.")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key.")
    s3_region: str = Field(default="", description="S3 region, when the server needs one.")
    s3_secure: bool = Field(default=False, description="Use TLS to reach the S3 server.")


class SealSettings(BaseSettings):
    """The key that seals credentials inside events (env prefix `SEAL_`)."""

    model_config = SettingsConfigDict(env_prefix="SEAL_", extra="ignore")

    key: SecretStr = Field(
        default=SecretStr(DEV_SEAL_KEY),
        description="Fernet key shared by api, dumper and uploader; never the default outside dev.",
    )


class CommonSettings(BaseSettings):
    """Settings every service has; each service subclasses this with its own env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["dev", "test", "prod"] = Field(
        default="dev", description="prod refuses development defaults for secrets."
    )
    http_host: str = Field(default="127.0.0.1", description="Address of the HTTP endpoints.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="Port; 0 picks a free one.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level that is logged."
    )
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)


def refuse_dev_secrets(settings: CommonSettings, seal: SealSettings) -> None:
    """Raise when a production deployment still runs on the embedded development key."""
    if settings.environment == "prod" and seal.key.get_secret_value() == DEV_SEAL_KEY:
        msg = "SEAL_KEY is the development default; set a key of your own in production"
        raise ValueError(msg)
