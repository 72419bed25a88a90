"""/api/v1/volumes: where backups are stored, a local directory or an S3 bucket."""

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, status

from services.api.deps import SecretKeys, Volumes
from services.api.errors import NotFoundError
from services.api.models import Volume
from services.api.schemas import VolumeCreate, VolumePublic
from services.api.schemas.volumes import public_config
from shared.events import utc_now
from shared.logging import get_logger
from shared.specs import LocalVolumeSpec, S3VolumeSpec

router = APIRouter(prefix="/api/v1/volumes", tags=["volumes"])
log = get_logger(__name__)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VolumePublic)
async def create_volume(
    body: Annotated[VolumeCreate, Body()], volumes: Volumes, keys: SecretKeys
) -> Volume:
    """Register a storage volume. An S3 secret key is stored encrypted and never returned."""
    spec = (
        LocalVolumeSpec(config=body.config)
        if body.type == "local"
        else S3VolumeSpec(config=body.config)
    )
    volume = Volume(
        id=uuid4(),
        name=body.name,
        type=body.type,
        config=public_config(body),
        spec_sealed=keys.vault.seal(spec),
        created_at=utc_now(),
    )
    created = await volumes.add(volume)
    log.info("volume_registered", volume_id=str(created.id), volume_type=created.type)
    return created


@router.get("", response_model=list[VolumePublic])
async def list_volumes(volumes: Volumes) -> list[Volume]:
    """Every registered volume, by name."""
    return await volumes.list()


@router.get("/{volume_id}", response_model=VolumePublic)
async def get_volume(volume_id: UUID, volumes: Volumes) -> Volume:
    """One registered volume."""
    volume = await volumes.get(volume_id)
    if volume is None:
        raise NotFoundError(f"volume {volume_id} does not exist")
    return volume
