"""Bodies of /api/v1/backups."""

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.models import BackupRequest
from services.api.schemas._text import Text
from shared.events import Compression


class BackupCreate(BaseModel):
    """Back up one database of a server, or every one (`database: null`), to volumes.

    `volume_id` and `volume_ids` together name the volumes: the first is the
    primary, every other one gets a copy of the same artifact.
    """

    model_config = ConfigDict(extra="forbid")

    server_id: UUID
    database: Text | None = Field(
        description="The database, or null for every non-system database."
    )
    volume_id: UUID | None = Field(default=None, description="The primary volume.")
    volume_ids: list[UUID] = Field(
        default_factory=list, description="Further volumes that get a copy of the artifact."
    )
    compression: Compression = "gzip"
    encrypt: bool = Field(
        default=False, description="Seal the artifact with AES-256-GCM (docs/encryption.md)."
    )

    @model_validator(mode="after")
    def _needs_a_volume(self) -> "BackupCreate":
        if not self.volumes:
            msg = "name at least one volume: volume_id or volume_ids"
            raise ValueError(msg)
        return self

    @property
    def volumes(self) -> list[UUID]:
        """Every volume named, the primary first, each once."""
        named = [self.volume_id] if self.volume_id is not None else []
        return list(dict.fromkeys([*named, *self.volume_ids]))


class SnapshotAccepted(BaseModel):
    """A snapshot the request created, pending until a dumper picks it up."""

    id: UUID
    database: str
    status: Literal["pending"] = "pending"


class BackupAccepted(BaseModel):
    """The answer to a backup request: one snapshot per database."""

    snapshots: list[SnapshotAccepted]

    @classmethod
    def of(cls, requests: Sequence[BackupRequest]) -> "BackupAccepted":
        return cls(snapshots=[SnapshotAccepted(id=r.id, database=r.database) for r in requests])
