"""/api/v1/volumes: where backups are stored, a local directory or an S3 bucket."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Response, status

from services.api.deps import Authenticated, Configs, Link, SecretKeys, Settings, Volumes
from services.api.schemas import VolumeCreate, VolumePublic, VolumeUpdate
from services.api.schemas.servers import CheckReport
from services.api.usecases import volumes as usecases

router = APIRouter(prefix="/api/v1/volumes", tags=["volumes"], dependencies=[Authenticated])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_volume(
    body: Annotated[VolumeCreate, Body()], volumes: Volumes, keys: SecretKeys, settings: Settings
) -> VolumePublic:
    """Register a storage volume. An S3 secret key is stored encrypted and never returned.

    Registering does not touch the location: `POST /{id}/test` does (the CLI and the web UI
    run it right after adding), and a backup's first write makes a missing local directory.

    A local path must lie under one of the operator's roots (`API_LOCAL_VOLUME_ROOTS`) and
    clear of the staging area; an S3 endpoint must not be a link-local or cloud metadata
    address unless `OUTBOUND_ALLOW` allows it (422 otherwise).
    """
    created = await usecases.register_volume(body, volumes=volumes, keys=keys, settings=settings)
    return VolumePublic(**created.model_dump(exclude={"spec_sealed"}))


@router.get("")
async def list_volumes(
    volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> list[VolumePublic]:
    """Every registered volume, by name, with its usage (null where not known in time)."""
    return await usecases.list_volumes(volumes, link=link, keys=keys, settings=settings)


@router.get("/{volume_id}")
async def get_volume(
    volume_id: UUID, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> VolumePublic:
    """One registered volume, with its usage (null where not known in time)."""
    volume = await usecases.find_volume(volume_id, volumes)
    return await usecases.with_usage(volume, link=link, keys=keys, settings=settings)


@router.patch("/{volume_id}")
async def update_volume(
    volume_id: UUID,
    body: VolumeUpdate,
    volumes: Volumes,
    link: Link,
    keys: SecretKeys,
    *,
    settings: Settings,
) -> VolumePublic:
    """Change a volume's name or config (config keys left out keep their values).

    The type cannot change (409) once the volume holds snapshots. A new S3 endpoint needs the
    secret key again, and a local path the same roots as a new volume (422).
    """
    updated = await usecases.update_volume(
        volume_id, body, volumes=volumes, link=link, keys=keys, settings=settings
    )
    return VolumePublic(**updated.model_dump(exclude={"spec_sealed"}))


@router.delete("/{volume_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_volume(
    volume_id: UUID, volumes: Volumes, link: Link, configs: Configs
) -> Response:
    """Forget a volume. Refused (409) while it holds snapshots (delete them first) or while
    a backup configuration writes to it (change or delete the configuration first)."""
    await usecases.delete_volume(volume_id, volumes=volumes, link=link, configs=configs)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{volume_id}/test")
async def test_volume_route(
    volume_id: UUID, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> CheckReport:
    """Have the uploader check the volume's place, then write, read back and delete a probe
    object on it, and report each step as a check.

    The first check is `directory` (a missing local directory is made, mode 0750, when its
    parent exists) or `bucket` (a missing bucket is named; it is never created). Answers 503
    with a sentence when the uploader does not answer.
    """
    checks = await usecases.check_volume(
        volume_id, volumes=volumes, link=link, keys=keys, wait=settings.test_timeout
    )
    return CheckReport(checks=checks)
