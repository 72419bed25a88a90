"""Storage volumes: register, change, forget, test, and show with their usage."""

import asyncio
from uuid import UUID, uuid4

from services.api.adapters.broker import BrokerLink
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import VolumeRepository
from services.api.asking import ask
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError
from services.api.keys import Keys
from services.api.models import Volume
from services.api.questions import test_volume, volume_usage
from services.api.quotas import quota_change
from services.api.schemas import VolumeCreate, VolumePublic, VolumeUpdate
from services.api.schemas.servers import Check
from services.api.schemas.volumes import LocalVolumeCreate, S3VolumeCreate, public_config
from services.api.settings import ApiSettings
from services.api.volume_paths import check_local_path
from services.api.volumes import changed_volume, endpoint_host, spec_of, volume_spec
from shared.events import utc_now
from shared.logging import get_logger
from shared.outbound import OutboundRefusedError
from shared.queries import VolumeActivity

log = get_logger(__name__)


async def find_volume(volume_id: UUID, volumes: VolumeRepository) -> Volume:
    volume = await volumes.get(volume_id)
    if volume is None:
        raise NotFoundError(f"volume {volume_id} does not exist")
    return volume


async def with_usage(
    volume: Volume, *, link: BrokerLink, keys: Keys, settings: ApiSettings
) -> VolumePublic:
    """The volume as shown, with its usage (null where not known in time)."""
    sealed = keys.sealer.seal(volume_spec(volume, vault=keys.vault))
    usage = await volume_usage(volume.id, sealed, link, wait=settings.usage_timeout)
    return VolumePublic(**volume.model_dump(exclude={"spec_sealed"}), usage=usage)


async def list_volumes(
    volumes: VolumeRepository, *, link: BrokerLink, keys: Keys, settings: ApiSettings
) -> list[VolumePublic]:
    """Every registered volume, by name, with its usage."""
    found = await volumes.list()
    return list(
        await asyncio.gather(
            *(with_usage(v, link=link, keys=keys, settings=settings) for v in found)
        )
    )


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


async def register_volume(
    body: VolumeCreate, *, volumes: VolumeRepository, keys: Keys, settings: ApiSettings
) -> Volume:
    """A new volume, its secrets sealed in the vault; its location checked first."""
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
    return created


async def update_volume(
    volume_id: UUID,
    body: VolumeUpdate,
    *,
    volumes: VolumeRepository,
    link: BrokerLink,
    keys: Keys,
    settings: ApiSettings,
) -> Volume:
    """The volume with `body`'s changes; its type only while it holds no snapshot."""
    volume = await find_volume(volume_id, volumes)
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
    return updated


async def delete_volume(
    volume_id: UUID,
    *,
    volumes: VolumeRepository,
    link: BrokerLink,
    configs: BackupConfigRepository,
) -> None:
    """Forget a volume no configuration writes to and no snapshot is held on (ConflictError)."""
    volume = await find_volume(volume_id, volumes)
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


async def check_volume(
    volume_id: UUID, *, volumes: VolumeRepository, link: BrokerLink, keys: Keys, wait: float
) -> list[Check]:
    """The uploader's probe of the volume: write, read back and delete an object."""
    volume = await find_volume(volume_id, volumes)
    sealed = keys.sealer.seal(volume_spec(volume, vault=keys.vault))
    checks = await test_volume(volume.name, sealed, link, wait=wait)
    log.info("volume_tested", volume_id=str(volume_id), ok=all(c.ok for c in checks))
    return checks
