"""Bodies of /api/v1/snapshots (interfaces.md #9)."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from shared.events import SnapshotStatus


class SnapshotPublic(BaseModel):
    """One snapshot: where it came from, where it went, and how it went."""

    id: UUID
    status: SnapshotStatus
    server_id: UUID | None
    server_name: str | None
    database: str | None
    volume_id: UUID | None
    compression: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    bytes_dumped: int
    size: int | None
    sha256: str | None
    path: str | None
    error: str | None
