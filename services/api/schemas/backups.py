"""Bodies of /api/v1/backups."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Compression


class BackupCreate(BaseModel):
    """Back up one database of a server, or every one (`database: null`), to a volume."""

    model_config = ConfigDict(extra="forbid")

    server_id: UUID
    database: str | None = Field(
        min_length=1, description="The database, or null for every non-system database."
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
