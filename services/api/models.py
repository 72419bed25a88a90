"""What the api keeps: registered servers and volumes, and accepted backup requests."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import Compression, ServerType


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


class BackupRequest(BaseModel):
    """One accepted backup of one database: a row of `snapshots_requested`."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    server_id: UUID
    database: str
    volume_id: UUID
    compression: Compression
    requested_at: datetime
