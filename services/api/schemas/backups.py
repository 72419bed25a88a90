"""Bodies of /api/v1/backups."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas._text import Text
from shared.events import Compression


class BackupCreate(BaseModel):
    """Back up one database of a server, or every one (`database: null`), to a volume."""

    model_config = ConfigDict(extra="forbid")

    server_id: UUID
    database: Text | None = Field(
        description="The database, or null for every non-system database."
    )
    volume_id: UUID
    compression: Compression = "gzip"


class SnapshotAccepted(BaseModel):
    """A snapshot the request created, pending until a dumper picks it up."""

    id: UUID
    database: str
    status: Literal["pending"] = "pending"


class BackupAccepted(BaseModel):
    """The answer to a backup request: one snapshot per database."""

    snapshots: list[SnapshotAccepted]
