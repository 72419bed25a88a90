"""Backup configurations: create, change, delete, and run one now."""

from uuid import UUID, uuid4

from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.configs.model import BackupConfig, BackupSettings
from services.api.errors import NotFoundError
from services.api.models import BackupRequest
from services.api.notifications.hook_catalog import HookCatalog
from services.api.schemas.backup_configs import BackupConfigCreate, BackupConfigUpdate
from services.api.usecases.backups import BackupTools, config_order, request_backups
from services.api.workers.relay import OutboxRelay
from shared.events import utc_now
from shared.logging import get_logger

log = get_logger(__name__)


async def find_config(config_id: UUID, configs: BackupConfigRepository) -> BackupConfig:
    config = await configs.get(config_id)
    if config is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    return config


async def _check_references(
    settings: BackupSettings, servers: ServerRepository, volumes: VolumeRepository
) -> None:
    if await servers.get(settings.server_id) is None:
        raise NotFoundError(f"server {settings.server_id} does not exist")
    for volume_id in settings.volume_ids:
        if await volumes.get(volume_id) is None:
            raise NotFoundError(f"volume {volume_id} does not exist")


def _check_hooks(
    settings: BackupSettings, hooks: HookCatalog, *, before: BackupSettings | None = None
) -> None:
    """A hook named must be one the operator defined for that event (422 otherwise). An edit
    checks only the names it changes: one the operator has since removed does not block it."""
    if before is None or settings.post_backup_hook != before.post_backup_hook:
        hooks.check(settings.post_backup_hook, "post_backup")
    if before is None or settings.post_restore_hook != before.post_restore_hook:
        hooks.check(settings.post_restore_hook, "post_restore")


async def create_config(
    body: BackupConfigCreate,
    *,
    configs: BackupConfigRepository,
    servers: ServerRepository,
    volumes: VolumeRepository,
    hooks: HookCatalog,
) -> BackupConfig:
    """A new configuration; its server and volumes must exist and its hooks be defined."""
    _check_hooks(body, hooks)
    await _check_references(body, servers, volumes)
    created = await configs.add(uuid4(), body, now=utc_now())
    log.info("backup_config_created", config_id=str(created.id), server_id=str(created.server_id))
    return created


async def update_config(
    config_id: UUID,
    body: BackupConfigUpdate,
    *,
    configs: BackupConfigRepository,
    servers: ServerRepository,
    volumes: VolumeRepository,
    hooks: HookCatalog,
) -> BackupConfig:
    """The configuration with `body`'s fields changed, validated whole."""
    current = await find_config(config_id, configs)
    changed = body.applied_to(current.settings())
    _check_hooks(changed, hooks, before=current)
    await _check_references(changed, servers, volumes)
    updated = await configs.update(config_id, changed, now=utc_now())
    if updated is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    log.info(
        "backup_config_updated", config_id=str(config_id), fields=sorted(body.model_fields_set)
    )
    return updated


async def delete_config(config_id: UUID, configs: BackupConfigRepository) -> None:
    if not await configs.delete(config_id):
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    log.info("backup_config_deleted", config_id=str(config_id))


async def run_config(
    config_id: UUID,
    *,
    configs: BackupConfigRepository,
    tools: BackupTools,
    requests: BackupRequests,
    relay: OutboxRelay,
) -> list[BackupRequest]:
    """The configuration's backups, now, enabled or not; not a scheduled firing."""
    config = await find_config(config_id, configs)
    return await request_backups(
        config_order(config), tools, requests=requests, relay=relay, now=utc_now()
    )
