"""Bodies of /api/v1/backup-configs: Create, Update (every field optional) and Public."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.api.configs.model import BackupConfig, BackupSettings, refuse_commands
from services.api.configs.timing import next_slot
from services.api.errors import InvalidRequestError


class BackupConfigCreate(BackupSettings):
    """A backup configuration to create: which databases of a server go to which volumes,
    how, when (cron in a time zone), and what retention keeps."""


class BackupConfigUpdate(BaseModel):
    """Fields to change; those left out keep their values. Nested objects (databases,
    retention, notify) are replaced whole. The result is validated as a whole (422)."""

    model_config = ConfigDict(extra="forbid")

    name: Any = None
    server_id: Any = None
    databases: Any = None
    volume_ids: Any = None
    compression: Any = None
    compression_level: Any = None
    encrypt: Any = None
    schedule: Any = None
    timezone: Any = None
    retention: Any = None
    rpo_hours: Any = None
    notify: Any = None
    post_backup_hook: Any = None
    post_restore_hook: Any = None
    enabled: Any = None

    @model_validator(mode="before")
    @classmethod
    def _no_command(cls, data: Any) -> Any:
        refuse_commands(data)
        return data

    def applied_to(self, current: BackupSettings) -> BackupSettings:
        """`current` with this update's fields; InvalidRequestError saying what is wrong."""
        merged = current.model_dump() | self.model_dump(exclude_unset=True)
        try:
            return BackupSettings.model_validate(merged)
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid request: {sentence(exc)}") from None


class BackupConfigPublic(BackupConfig):
    """A backup configuration as the api shows it."""

    next_run_at: datetime | None = Field(
        default=None, description="The next slot of its schedule; null when disabled or manual."
    )

    @classmethod
    def of(cls, config: BackupConfig, *, now: datetime) -> "BackupConfigPublic":
        upcoming = None
        if config.enabled and config.schedule is not None:
            upcoming = next_slot(config.schedule, config.timezone, now)
        return cls(**config.model_dump(), next_run_at=upcoming)


def sentence(exc: ValidationError) -> str:
    """The errors as one sentence, without the input (it is the user's own anyway)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors()
    )
