"""Settings of notifications, the overdue-backup alarm and hooks (env prefix `API_NOTIFY_`)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    """How deliveries are retried, how often the RPO is checked, how long hooks may run."""

    model_config = SettingsConfigDict(env_prefix="API_NOTIFY_", extra="ignore")

    dispatch_interval: float = Field(
        default=1.0, gt=0, description="Seconds between passes of the delivery queue when idle."
    )
    max_attempts: int = Field(
        default=8, ge=1, description="Tries of one delivery before it is given up."
    )
    backoff_base: float = Field(
        default=10.0, gt=0, description="Seconds before the 2nd try; doubled for each further one."
    )
    backoff_max: float = Field(
        default=3600.0, gt=0, description="Longest wait between two tries of one delivery."
    )
    send_timeout: float = Field(
        default=15.0, gt=0, description="Seconds one webhook, Slack or SMTP send may take."
    )
    overdue_interval: float = Field(
        default=60.0, gt=0, description="Seconds between two checks of every configuration's RPO."
    )
    hook_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a hook may run when its definition in API_HOOKS_FILE sets none.",
    )


class HookSettings(BaseSettings):
    """Where the operator defines hooks, and how many may run at once."""

    model_config = SettingsConfigDict(env_prefix="API_HOOKS_", extra="ignore")

    file: Path | None = Field(
        default=None,
        description="TOML (or .json) file of named hooks (docs/notifications.md); unset: none.",
    )
    concurrency: int = Field(
        default=2, ge=1, le=64, description="Hooks running at once; the others wait their turn."
    )
