"""Bodies of /api/v1/volumes."""

from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.api.schemas._text import Name, NoNul, no_nul
from shared.specs import LocalVolumeConfig, S3VolumeConfig


def _absolute(config: LocalVolumeConfig) -> LocalVolumeConfig:
    if not PurePosixPath(config.path).is_absolute():
        raise ValueError("path must be absolute")
    return config


def _secret_without_nul(config: S3VolumeConfig) -> S3VolumeConfig:
    no_nul(config.secret_key)
    return config


QuotaAction = Literal["refuse", "warn"]
QUOTA_BYTES = Field(
    default=None,
    gt=0,
    description="Most bytes of completed snapshots it may hold; null for no quota.",
    examples=[500_000_000_000],
)
QUOTA_ACTION: QuotaAction = Field(
    default="refuse", description="At or over the quota: refuse new backups (422), or warn."
)


class LocalVolumeCreate(BaseModel):
    """A directory the uploader writes to.

    The uploader makes it, mode 0750, on the volume's test or first write, when its parent
    exists; a missing parent (often a share not mounted) is named instead.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["nas"])
    type: Literal["local"]
    config: Annotated[LocalVolumeConfig, NoNul, AfterValidator(_absolute)]
    quota_bytes: int | None = QUOTA_BYTES
    quota_action: QuotaAction = QUOTA_ACTION


class S3VolumeCreate(BaseModel):
    """A bucket on an S3-compatible server; the secret key is stored encrypted."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["offsite"])
    type: Literal["s3"]
    config: Annotated[S3VolumeConfig, NoNul, AfterValidator(_secret_without_nul)]
    quota_bytes: int | None = QUOTA_BYTES
    quota_action: QuotaAction = QUOTA_ACTION


VolumeCreate = Annotated[LocalVolumeCreate | S3VolumeCreate, Field(discriminator="type")]


class VolumeUpdate(BaseModel):
    """Fields to change; `config` keys left out keep their value (the secret key too).

    The type cannot change once the volume holds snapshots; changing it needs a whole config.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    type: Literal["local", "s3"] | None = None
    config: Annotated[dict[str, Any], NoNul] | None = Field(
        default=None, examples=[{"bucket": "backups-2"}], description="Config keys to change."
    )
    quota_bytes: int | None = Field(default=None, gt=0, description="null (given) removes it.")
    quota_action: QuotaAction | None = None


class VolumeUsage(BaseModel):
    """Space used on the volume; each field is null when the service that knows it (the
    catalog for bytes and snapshots, the uploader for free space) did not answer in time, or
    when the backend cannot tell (S3 has no free space)."""

    bytes: int | None = Field(description="Bytes held by completed snapshots.")
    snapshots: int | None = Field(description="How many completed snapshots it holds.")
    free_bytes: int | None = Field(description="Free space (local: statvfs); null for S3.")


class VolumePublic(BaseModel):
    """A registered volume as the api shows it: its config without the secret key."""

    id: UUID
    name: str
    type: Literal["local", "s3"]
    config: dict[str, Any]
    created_at: datetime
    quota_bytes: int | None = Field(default=None, description="null: no quota.")
    quota_action: QuotaAction = "refuse"
    usage: VolumeUsage | None = Field(
        default=None, description="Usage, as far as the catalog and uploader answered in time."
    )


def public_config(volume: LocalVolumeCreate | S3VolumeCreate) -> dict[str, Any]:
    """The config as stored in clear and returned: every secret left out."""
    return volume.config.model_dump(mode="json", exclude={"secret_key"})
