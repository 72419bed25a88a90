"""/api/v1/backup-configs: what to back up, where, how, when and what to keep; and run now."""

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.api.adapters.configs import BackupConfigRepository, Firing
from services.api.configs.firing import FiringTools, plan_config
from services.api.configs.model import BackupConfig, BackupSettings
from services.api.configs.timing import next_slot
from services.api.deps import (
    Authenticated,
    Link,
    Lists,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Volumes,
    get_settings,
)
from services.api.errors import NotFoundError
from services.api.notifications.hook_catalog import HookCatalog
from services.api.notifications.hook_routes import Hooks
from services.api.notifications.quota import OverQuotaHooks
from services.api.schemas import BackupAccepted, SnapshotAccepted
from services.api.schemas.backup_configs import (
    BackupConfigCreate,
    BackupConfigPublic,
    BackupConfigUpdate,
)
from shared.events import utc_now
from shared.logging import get_logger

router = APIRouter(
    prefix="/api/v1/backup-configs", tags=["backup-configs"], dependencies=[Authenticated]
)
log = get_logger(__name__)


def get_configs(request: Request) -> BackupConfigRepository:
    return BackupConfigRepository(request.app.state.runtime.pool, get_settings(request).schema_name)


Configs = Annotated[BackupConfigRepository, Depends(get_configs)]


async def _config(config_id: UUID, configs: Configs) -> BackupConfig:
    config = await configs.get(config_id)
    if config is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    return config


async def _check_references(settings: BackupSettings, servers: Servers, volumes: Volumes) -> None:
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


def public(config: BackupConfig) -> BackupConfigPublic:
    upcoming = None
    if config.enabled and config.schedule is not None:
        upcoming = next_slot(config.schedule, config.timezone, utc_now())
    return BackupConfigPublic(**config.model_dump(), next_run_at=upcoming)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_config(
    body: BackupConfigCreate, *, configs: Configs, servers: Servers, volumes: Volumes, hooks: Hooks
) -> BackupConfigPublic:
    """Create a backup configuration. Several may exist per server; names are unique (409).

    The server and every volume must exist (404). `schedule` is a 5-field cron expression (or
    6 with seconds first) evaluated in `timezone` (IANA); `compression_level` is 0-3 for gzip
    and 1-19 for zstd; a `pattern` must be a valid regular expression; `post_backup_hook` and
    `post_restore_hook` name hooks of the operator's (`GET /api/v1/hooks`); a body carrying a
    command is refused (422 otherwise).
    """
    _check_hooks(body, hooks)
    await _check_references(body, servers, volumes)
    created = await configs.add(uuid4(), body, now=utc_now())
    log.info("backup_config_created", config_id=str(created.id), server_id=str(created.server_id))
    return public(created)


@router.get("")
async def list_configs(configs: Configs, server_id: UUID | None = None) -> list[BackupConfigPublic]:
    """Every backup configuration by name, or those of one server (`?server_id=`)."""
    return [public(config) for config in await configs.list(server_id=server_id)]


@router.get("/{config_id}")
async def get_config(config_id: UUID, configs: Configs) -> BackupConfigPublic:
    """One backup configuration, with its next slot and its last firing's outcome."""
    return public(await _config(config_id, configs))


@router.get("/{config_id}/firings")
async def list_firings(
    config_id: UUID, configs: Configs, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[Firing]:
    """The configuration's scheduled firings, newest first: each slot once, with the number of
    snapshots it requested, or the reason it requested none. Manual runs are not listed."""
    await _config(config_id, configs)
    return await configs.firings(config_id, limit=limit)


@router.patch("/{config_id}")
async def update_config(
    config_id: UUID,
    body: BackupConfigUpdate,
    *,
    configs: Configs,
    servers: Servers,
    volumes: Volumes,
    hooks: Hooks,
) -> BackupConfigPublic:
    """Change some fields; the others keep their values. The result is validated whole.

    Changing the schedule, its time zone or `enabled` re-arms the schedule: slots before the
    change never fire late.
    """
    current = await _config(config_id, configs)
    changed = body.applied_to(current.settings())
    _check_hooks(changed, hooks, before=current)
    await _check_references(changed, servers, volumes)
    updated = await configs.update(config_id, changed, now=utc_now())
    if updated is None:
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    log.info(
        "backup_config_updated", config_id=str(config_id), fields=sorted(body.model_fields_set)
    )
    return public(updated)


@router.delete("/{config_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_config(config_id: UUID, configs: Configs) -> Response:
    """Delete a configuration. Its snapshots stay (prune or delete them separately)."""
    if not await configs.delete(config_id):
        raise NotFoundError(f"backup configuration {config_id} does not exist")
    log.info("backup_config_deleted", config_id=str(config_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{config_id}/run", status_code=status.HTTP_202_ACCEPTED)
async def run_config(
    config_id: UUID,
    *,
    configs: Configs,
    servers: Servers,
    volumes: Volumes,
    requests: Requests,
    link: Link,
    lists: Lists,
    keys: SecretKeys,
    relay: Relay,
    over_quota: OverQuotaHooks,
) -> BackupAccepted:
    """Run a configuration now (enabled or not), answered like `POST /api/v1/backups`.

    One pending snapshot per selected database. 422 when the server's databases cannot be
    listed or none is selected; 503 when the dumper does not answer. A manual run is not a
    scheduled firing: the schedule's next slot still fires.
    """
    config = await _config(config_id, configs)
    tools = FiringTools(
        servers=servers,
        volumes=volumes,
        link=link,
        lists=lists,
        keys=keys,
        over_quota=over_quota,
    )
    planned = await plan_config(config, tools, now=utc_now())
    await requests.accept(planned)
    relay.wake()
    log.info(
        "backup_config_run",
        config_id=str(config_id),
        snapshot_ids=[str(request.id) for request, _ in planned],
    )
    return BackupAccepted(
        snapshots=[
            SnapshotAccepted(id=request.id, database=request.database) for request, _ in planned
        ]
    )
