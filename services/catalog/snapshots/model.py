"""The catalog's record of one snapshot, and the part of it the api shows."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from services.catalog.snapshots.copies import Copies
from shared.events import ServerType, SnapshotStatus

TERMINAL: frozenset[SnapshotStatus] = frozenset({"completed", "failed", "deleted"})
PUBLIC_FIELDS = (
    "id",
    "status",
    "server_id",
    "server_name",
    "server_type",
    "database",
    "volume_id",
    "compression",
    "created_at",
    "started_at",
    "finished_at",
    "bytes_dumped",
    "size",
    "sha256",
    "path",
    "error",
    "delete_error",
    "config_id",
    "locked",
    "copies",
)
"""The snapshot JSON shared by catalog and api (lists and details)."""


class SnapshotRecord(BaseModel):
    """The catalog's record of one snapshot."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    status: SnapshotStatus
    requested: bool = False
    server_id: UUID | None = None
    server_name: str | None = None
    server_type: ServerType | None = None
    database: str | None = None
    volume_id: UUID | None = None
    compression: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    bytes_dumped: int = 0
    bytes_compressed: int = 0
    chunks_staged: int = 0
    size: int | None = None
    sha256: str | None = None
    path: str | None = None
    error: str | None = None
    attempt_id: UUID | None = None
    last_event_at: datetime
    manifest: dict[str, Any] | None = None
    manifest_path: str | None = None
    delete_error: str | None = None
    verified_at: datetime | None = None
    verify_result: dict[str, Any] | None = None
    """Written only by a verify's end (restores/records.py), never by `save_snapshot`."""
    config_id: UUID | None = None
    locked: bool = False
    """Both written only by the marks (adapters/marks.py), never by `save_snapshot`."""
    copies: Copies = ()
    """One per volume, the primary first."""

    @field_validator("copies", mode="before")
    @classmethod
    def _copies_from_json(cls, value: Any) -> Any:
        """A row read without a jsonb codec holds the copies as JSON text."""
        return json.loads(value) if isinstance(value, str) else value

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The snapshot as the api shows it (JSON-ready)."""
        return self.model_dump(mode="json", include=set(PUBLIC_FIELDS))
