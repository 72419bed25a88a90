"""What the api keeps: registered servers and volumes, accepted backup and restore requests."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import Compression, RestoreMode, ServerType
from shared.specs import TlsMode


class Server(BaseModel):
    """A registered database server; its password stays sealed with the credentials key."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    type: ServerType
    host: str
    port: int
    username: str
    database: str | None
    password_sealed: str
    tags: tuple[str, ...] = ()
    tls_mode: TlsMode | None = None
    tls_ca: str | None = None
    created_at: datetime


class Volume(BaseModel):
    """A registered storage volume: public config, and the whole spec sealed."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    type: str
    config: dict[str, Any]
    spec_sealed: str
    created_at: datetime
    quota_bytes: int | None = None
    quota_action: Literal["refuse", "warn"] = "refuse"
    """Issue 8: the most bytes of completed snapshots; refuse or only warn past it."""


class BackupRequest(BaseModel):
    """One accepted backup of one database: a row of `snapshots_requested`."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    server_id: UUID
    database: str
    volume_id: UUID
    compression: Compression
    requested_at: datetime
    config_id: UUID | None = None
    """The backup configuration that produced it; None for a manual backup."""


class ApiToken(BaseModel):
    """A bearer token's record: never the token itself, only its hash."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class RestoreRequest(BaseModel):
    """One accepted restore (or verify): a row of `restores_requested`."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    snapshot_id: UUID
    mode: RestoreMode
    server_id: UUID
    database: str
    overwrite: bool
    requested_at: datetime
