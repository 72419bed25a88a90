"""Schemas of /api/v1/encryption: master-key rotation (docs/encryption.md)."""

from uuid import UUID

from pydantic import BaseModel, Field


class RewrapSkipped(BaseModel):
    """A copy whose data key is not re-wrapped, and why."""

    snapshot_id: UUID
    reason: str = Field(examples=["its volume is no longer registered"])


class RewrapAccepted(BaseModel):
    """What `POST /api/v1/encryption/rewrap` queued."""

    requested: int = Field(
        description="Stored copies of encrypted snapshots whose data key the dumper will "
        "re-wrap with its active master key.",
        examples=[12],
    )
    snapshot_ids: list[UUID] = Field(description="The snapshots concerned.")
    skipped: list[RewrapSkipped] = Field(default_factory=list)


class KeyUsage(BaseModel):
    """Which master keys wrap the data keys of completed encrypted snapshots."""

    keys: dict[str, int] = Field(
        description="Master key id -> completed encrypted snapshots whose manifest names it.",
        examples=[{"k2": 41, "k1": 3}],
    )
