"""/api/v1/volumes: where backups are stored, a local directory or an S3 bucket."""

import asyncio
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Response, status

from services.api.asking import ask
from services.api.deps import Authenticated, Link, SecretKeys, Settings, Volumes
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError
from services.api.models import Volume
from services.api.questions import test_volume, volume_usage
from services.api.quotas import quota_change
from services.api.routes.backup_configs import Configs
from services.api.schemas import VolumeCreate, VolumePublic, VolumeUpdate
from services.api.schemas.servers import CheckReport
from services.api.schemas.volumes import LocalVolumeCreate, S3VolumeCreate, public_config
from services.api.settings import ApiSettings
from services.api.volume_paths import check_local_path
from services.api.volumes import changed_volume, endpoint_host, spec_of, volume_spec
from shared.events import utc_now
from shared.logging import get_logger
from shared.outbound import OutboundRefusedError
from shared.queries import VolumeActivity

router = APIRouter(prefix="/api/v1/volumes", tags=["volumes"], dependencies=[Authenticated])
log = get_logger(__name__)


async def _volume(volume_id: UUID, volumes: Volumes) -> Volume:
    volume = await volumes.get(volume_id)
    if volume is None:
        raise NotFoundError(f"volume {volume_id} does not exist")
    return volume


async def _public(volume: Volume, link: Link, keys: SecretKeys, settings: Settings) -> VolumePublic:
    sealed = keys.sealer.seal(volume_spec(volume, vault=keys.vault))
    usage = await volume_usage(volume.id, sealed, link, wait=settings.usage_timeout)
    return VolumePublic(**volume.model_dump(exclude={"spec_sealed"}), usage=usage)


def _check_target(volume: LocalVolumeCreate | S3VolumeCreate, settings: ApiSettings) -> None:
    if isinstance(volume, LocalVolumeCreate):
        staging = settings.staging.path if settings.staging.kind == "local" else None
        check_local_path(volume.config.path, roots=settings.local_volume_roots, staging=staging)
        return
    host = endpoint_host(volume.config.endpoint)
    try:
        settings.outbound.policy().check_host(host)
    except OutboundRefusedError as exc:
        raise InvalidRequestError(f"endpoint: {exc}") from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_volume(
    body: Annotated[VolumeCreate, Body()], volumes: Volumes, keys: SecretKeys, settings: Settings
) -> VolumePublic:
    """Register a storage volume. An S3 secret key is stored encrypted and never returned.

    A local path must lie under one of the operator's roots (`API_LOCAL_VOLUME_ROOTS`) and
    clear of the staging area; an S3 endpoint must not be a link-local or cloud metadata
    address unless `OUTBOUND_ALLOW` allows it (422 otherwise).
    """
    _check_target(body, settings)
    volume = Volume(
        id=uuid4(),
        name=body.name,
        type=body.type,
        config=public_config(body),
        spec_sealed=keys.vault.seal(spec_of(body)),
        created_at=utc_now(),
        quota_bytes=body.quota_bytes,
        quota_action=body.quota_action,
    )
    created = await volumes.add(volume)
    log.info("volume_registered", volume_id=str(created.id), volume_type=created.type)
    return VolumePublic(**created.model_dump(exclude={"spec_sealed"}))


@router.get("")
async def list_volumes(
    volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> list[VolumePublic]:
    """Every registered volume, by name, with its usage (null where not known in time)."""
    found = await volumes.list()
    return list(await asyncio.gather(*(_public(v, link, keys, settings) for v in found)))


@router.get("/{volume_id}")
async def get_volume(
    volume_id: UUID, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> VolumePublic:
    """One registered volume, with its usage (null where not known in time)."""
    return await _public(await _volume(volume_id, volumes), link, keys, settings)


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
    volume = await _volume(volume_id, volumes)
    changed = changed_volume(volume, body, vault=keys.vault)
    if changed.type != volume.type or public_config(changed) != volume.config:
        _check_target(changed, settings)  # a volume registered before the rules may be renamed
    if changed.type != volume.type:
        held = (await ask(link, VolumeActivity(volume_id=volume_id))).snapshots
        if held:
            raise ConflictError(
                f"volume {volume.name!r} holds {held} snapshot(s); its type cannot change"
            )
    updated = await volumes.update(
        volume.model_copy(
            update={
                "name": changed.name,
                "type": changed.type,
                "config": public_config(changed),
                "spec_sealed": keys.vault.seal(spec_of(changed)),
                **quota_change(body),
            }
        )
    )
    if updated is None:
        raise NotFoundError(f"volume {volume_id} does not exist")
    log.info("volume_updated", volume_id=str(volume_id), fields=sorted(body.model_fields_set))
    return VolumePublic(**updated.model_dump(exclude={"spec_sealed"}))


@router.delete("/{volume_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_volume(
    volume_id: UUID, volumes: Volumes, link: Link, configs: Configs
) -> Response:
    """Forget a volume. Refused (409) while it holds snapshots (delete them first) or while
    a backup configuration writes to it (change or delete the configuration first)."""
    volume = await _volume(volume_id, volumes)
    users = await configs.names_using_volume(volume_id)
    if users:
        raise ConflictError(
            f"volume {volume.name!r} is used by backup configuration(s) "
            f"{', '.join(repr(n) for n in users)}; change or delete them first"
        )
    held = (await ask(link, VolumeActivity(volume_id=volume_id))).snapshots
    if held:
        raise ConflictError(f"volume {volume.name!r} holds {held} snapshot(s); delete them first")
    if not await volumes.delete(volume_id):
        raise NotFoundError(f"volume {volume_id} does not exist")
    log.info("volume_deleted", volume_id=str(volume_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{volume_id}/test")
async def test_volume_route(
    volume_id: UUID, volumes: Volumes, link: Link, keys: SecretKeys, settings: Settings
) -> CheckReport:
    """Have the uploader write, read back and delete a probe object on the volume, and
    report each step as a check. Answers 503 with a sentence when the uploader does not."""
    volume = await _volume(volume_id, volumes)
    sealed = keys.sealer.seal(volume_spec(volume, vault=keys.vault))
    checks = await test_volume(volume.name, sealed, link, wait=settings.test_timeout)
    log.info("volume_tested", volume_id=str(volume_id), ok=all(c.ok for c in checks))
    return CheckReport(checks=checks)
