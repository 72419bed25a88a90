"""Bodies of /api/v1/volumes."""

from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.specs import LocalVolumeConfig, S3VolumeConfig


def _absolute(config: LocalVolumeConfig) -> LocalVolumeConfig:
    if not PurePosixPath(config.path).is_absolute():
        raise ValueError("path must be absolute")
    return config


class LocalVolumeCreate(BaseModel):
    """A directory the uploader writes to (it creates the directory if needed)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["nas"])
    type: Literal["local"]
    config: Annotated[LocalVolumeConfig, AfterValidator(_absolute)]


class S3VolumeCreate(BaseModel):
    """A bucket on an S3-compatible server; the secret key is stored encrypted."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["offsite"])
    type: Literal["s3"]
    config: S3VolumeConfig


VolumeCreate = Annotated[LocalVolumeCreate | S3VolumeCreate, Field(discriminator="type")]


class VolumePublic(BaseModel):
    """A registered volume as the api shows it: its config without the secret key."""

    id: UUID
    name: str
    type: Literal["local", "s3"]
    config: dict[str, Any]
    created_at: datetime


def public_config(volume: LocalVolumeCreate | S3VolumeCreate) -> dict[str, Any]:
    """The config as stored in clear and returned: every secret left out."""
    return volume.config.model_dump(mode="json", exclude={"secret_key"})
