"""A backup configuration: what to back up, where, how, when, and what to keep.

The value types here are the api's domain model; the HTTP schemas reuse them, so the rules
(levels per compressor, a valid cron and time zone, a compilable pattern) hold everywhere.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.api.backups import SYSTEM_DATABASES
from services.api.configs.patterns import compile_pattern
from services.api.configs.timing import check_schedule, check_timezone
from services.api.notifications.hook_catalog import REFUSED_COMMAND, HookName
from shared.events import Compression

DatabaseName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]

LEVELS: dict[str, tuple[int, int]] = {"gzip": (0, 3), "zstd": (1, 19)}
"""Valid compression levels: ISA-L's gzip levels, and zstd's without its ultra levels."""


class DatabaseSelection(BaseModel):
    """Which databases of the server a firing backs up. System databases never."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["all", "list", "pattern"] = Field(
        default="all",
        description="all: every user database; list: `names`; pattern: names matching `pattern`.",
    )
    names: list[DatabaseName] = Field(
        default_factory=list, max_length=1000, description="With mode `list`: the databases."
    )
    pattern: str | None = Field(
        default=None,
        max_length=1000,  # what older versions stored; new ones are held to MAX_PATTERN_LENGTH
        pattern=r"^[^\x00]+$",
        description="With mode `pattern`: an RE2 regular expression (Python syntax without "
        "backreferences or lookaround) the WHOLE name must match.",
        examples=["shop_.*"],
    )
    exclude: list[DatabaseName] = Field(
        default_factory=list, max_length=1000, description="Names never backed up by this config."
    )

    @model_validator(mode="after")
    def _fits_mode(self, info: ValidationInfo) -> "DatabaseSelection":
        if self.mode == "list" and not self.names:
            raise ValueError("databases: mode 'list' needs at least one name in `names`")
        if self.mode != "list" and self.names:
            raise ValueError(f"databases: `names` is only for mode 'list', not {self.mode!r}")
        if self.mode == "pattern":
            if not self.pattern:
                raise ValueError("databases: mode 'pattern' needs a `pattern`")
            if not (info.context or {}).get("stored"):
                # A stored pattern that RE2 refuses fails its firings with the reason instead
                # of making the configuration unreadable.
                compile_pattern(self.pattern)
        elif self.pattern is not None:
            raise ValueError(f"databases: `pattern` is only for mode 'pattern', not {self.mode!r}")
        system = sorted(set(self.names) & SYSTEM_DATABASES)
        if system:
            raise ValueError(
                f"databases: {system[0]!r} is a system database and is never backed up"
            )
        return self


class Gfs(BaseModel):
    """Grandfather-father-son: how many daily, weekly and monthly snapshots to keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: int = Field(default=0, ge=0, le=10000)
    weekly: int = Field(default=0, ge=0, le=10000)
    monthly: int = Field(default=0, ge=0, le=10000)


class Retention(BaseModel):
    """What pruning keeps, per database (docs/retention.md); all null keeps everything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_last: int | None = Field(default=None, ge=1, le=100000, description="The newest N.")
    keep_days: int | None = Field(default=None, ge=1, le=36500, description="The last D days.")
    gfs: Gfs | None = Field(default=None, description="Daily, weekly and monthly counts.")


class Notify(BaseModel):
    """When and where to tell someone about this config's backups (docs/notifications.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: Literal["failure", "success", "all"] = Field(default="failure")
    channel_ids: list[UUID] = Field(default_factory=list, max_length=50)


class BackupSettings(BaseModel):
    """Every field a user sets on a configuration, validated together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")] = (
        Field(examples=["shop-nightly"])
    )
    server_id: UUID
    databases: DatabaseSelection = Field(default_factory=DatabaseSelection)
    volume_ids: list[UUID] = Field(
        min_length=1, max_length=10, description="The first is the primary; the others get copies."
    )
    compression: Compression = "gzip"
    compression_level: int | None = Field(
        default=None, description="gzip (ISA-L) 0-3, zstd 1-19; null for the dumper's default."
    )
    encrypt: bool = Field(default=False, description="Seal each chunk with AES-256-GCM.")
    schedule: str | None = Field(
        default=None,
        max_length=200,
        description="5-field cron (or 6 with seconds first); null: runs only when asked.",
        examples=["0 2 * * *"],
    )
    timezone: str = Field(default="UTC", max_length=100, examples=["Europe/Berlin"])
    retention: Retention = Field(default_factory=Retention)
    rpo_hours: float | None = Field(
        default=None, gt=0, le=100000, description="A completed snapshot at least this often."
    )
    notify: Notify = Field(default_factory=Notify)
    post_backup_hook: HookName | None = Field(
        default=None, description="The operator's hook (GET /api/v1/hooks) run after each backup."
    )
    post_restore_hook: HookName | None = Field(
        default=None, description="The operator's hook run after each restore and verify."
    )
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_command(cls, data: Any) -> Any:
        refuse_commands(data)
        return data

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("volume_ids")
    @classmethod
    def _distinct_volumes(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("volume_ids: each volume at most once")
        return value

    @model_validator(mode="after")
    def _level_fits(self) -> "BackupSettings":
        if self.compression_level is not None:
            low, high = LEVELS[self.compression]
            if not low <= self.compression_level <= high:
                raise ValueError(
                    f"compression_level {self.compression_level} is out of range for "
                    f"{self.compression}: {low}-{high}"
                )
        return self


def refuse_commands(data: Any) -> None:
    """ValueError when a body tries to carry a command instead of naming a hook."""
    if not isinstance(data, dict):
        return
    commands = [k for k in data if isinstance(k, str) and k.endswith(("_command", "argv"))]
    argv = [k for k in ("post_backup_hook", "post_restore_hook") if isinstance(data.get(k), list)]
    if commands or argv:
        raise ValueError(REFUSED_COMMAND)


class BackupConfig(BackupSettings):
    """A stored configuration: the settings, and what the api keeps about it."""

    id: UUID
    created_at: datetime
    updated_at: datetime
    last_fired_at: datetime | None = Field(
        default=None, description="When the scheduler last fired it (manual runs do not count)."
    )
    last_error: str | None = Field(
        default=None, description="Why the latest scheduled firing produced no snapshot, if so."
    )

    def settings(self) -> BackupSettings:
        return BackupSettings.model_validate(
            self.model_dump(include=set(BackupSettings.model_fields)), context={"stored": True}
        )
