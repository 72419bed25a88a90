"""/api/v1/backup-configs: what to back up, where, how, when and what to keep; and run now."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from services.api.adapters.configs import Firing
from services.api.configs.model import BackupConfig
from services.api.deps import (
    Authenticated,
    Configs,
    Hooks,
    Link,
    Lists,
    OverQuotaHooks,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Volumes,
)
from services.api.schemas import BackupAccepted
from services.api.schemas.backup_configs import (
    BackupConfigCreate,
    BackupConfigPublic,
    BackupConfigUpdate,
)
from services.api.usecases import configs as usecases
from services.api.usecases.backups import BackupTools
from shared.events import utc_now

router = APIRouter(
    prefix="/api/v1/backup-configs", tags=["backup-configs"], dependencies=[Authenticated]
)


def public(config: BackupConfig) -> BackupConfigPublic:
    return BackupConfigPublic.of(config, now=utc_now())


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
    created = await usecases.create_config(
        body, configs=configs, servers=servers, volumes=volumes, hooks=hooks
    )
    return public(created)


@router.get("")
async def list_configs(configs: Configs, server_id: UUID | None = None) -> list[BackupConfigPublic]:
    """Every backup configuration by name, or those of one server (`?server_id=`)."""
    return [public(config) for config in await configs.list(server_id=server_id)]


@router.get("/{config_id}")
async def get_config(config_id: UUID, configs: Configs) -> BackupConfigPublic:
    """One backup configuration, with its next slot and its last firing's outcome."""
    return public(await usecases.find_config(config_id, configs))


@router.get("/{config_id}/firings")
async def list_firings(
    config_id: UUID, configs: Configs, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[Firing]:
    """The configuration's scheduled firings, newest first: each slot once, with the number of
    snapshots it requested, or the reason it requested none. Manual runs are not listed."""
    await usecases.find_config(config_id, configs)
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
    updated = await usecases.update_config(
        config_id, body, configs=configs, servers=servers, volumes=volumes, hooks=hooks
    )
    return public(updated)


@router.delete("/{config_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_config(config_id: UUID, configs: Configs) -> Response:
    """Delete a configuration. Its snapshots stay (prune or delete them separately)."""
    await usecases.delete_config(config_id, configs)
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
    tools = BackupTools(servers, volumes, link, lists, keys, over_quota=over_quota)
    accepted = await usecases.run_config(
        config_id, configs=configs, tools=tools, requests=requests, relay=relay
    )
    return BackupAccepted.of(accepted)
