"""Bodies of the lock, prune and volume usage routes."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

QuotaAction = Literal["refuse", "warn"]


class SnapshotLockPublic(BaseModel):
    """A lock change accepted: the catalog shows it once the event has reached it."""

    id: UUID
    locked: bool


class PrunedSnapshot(BaseModel):
    """One snapshot in a prune answer."""

    id: UUID
    server_id: UUID
    server_name: str | None = None
    database: str
    created_at: datetime
    size: int | None = None
    locked: bool = False
    reasons: list[str] = Field(
        default_factory=list,
        description="Why it is kept: newest, locked, last, days, daily, weekly, monthly.",
        examples=[["newest", "last"]],
    )


class PruneResult(BaseModel):
    """What the configuration's retention deletes now (`dry_run`: would delete) and keeps."""

    dry_run: bool
    delete: list[PrunedSnapshot]
    keep: list[PrunedSnapshot]


class VolumeUsageReport(BaseModel):
    """A volume's space: used by its completed snapshots, free, and its quota."""

    volume_id: UUID
    used_bytes: int | None = Field(description="Bytes of its completed snapshots (catalog).")
    snapshots: int | None = Field(description="How many completed snapshots it holds.")
    free_bytes: int | None = Field(
        description="Free space where the backend tells it (local: statvfs); null for S3."
    )
    quota_bytes: int | None = Field(description="The quota; null for none.")
    quota_action: QuotaAction = Field(description="refuse or warn once used reaches the quota.")
    over_quota: bool = Field(description="used_bytes >= quota_bytes.")
