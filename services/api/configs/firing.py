"""Turning a configuration into its backup requests: the same path for the scheduler and
`POST /backup-configs/{id}/run`, and the same events as a manual backup (config_id set)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.backups import plan_backups, sealed_connection
from services.api.configs.model import BackupConfig
from services.api.configs.selection import needs_list, select_databases_off_loop
from services.api.databases import DatabaseLists
from services.api.deps import Keys
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.models import BackupRequest
from services.api.questions import last_snapshot_sizes, list_databases
from services.api.quotas import OverQuotaHook, check_quotas, log_over_quota
from shared.events import BackupRequested

Planned = list[tuple[BackupRequest, BackupRequested]]


@dataclass(frozen=True)
class FiringTools:
    """What planning a configuration's backups needs from the api."""

    servers: ServerRepository
    volumes: VolumeRepository
    link: BrokerLink
    lists: DatabaseLists
    keys: Keys
    over_quota: Callable[[UUID | None], OverQuotaHook] = lambda _config_id: log_over_quota
    """The hook told about a volume over its quota (notifications)."""


async def plan_config(config: BackupConfig, tools: FiringTools, *, now: datetime) -> Planned:
    """One request and its BackupRequested per selected database.

    NotFoundError when the server or a volume is gone; InvalidRequestError when the server's
    databases cannot be listed (the dumper's reason) or none is selected; UnavailableError
    when nobody answered the list question (broker or dumper away).
    """
    server = await tools.servers.get(config.server_id)
    if server is None:
        raise NotFoundError(f"server {config.server_id} of configuration {config.name!r} is gone")
    volumes = []
    for volume_id in config.volume_ids:
        volume = await tools.volumes.get(volume_id)
        if volume is None:
            raise NotFoundError(f"volume {volume_id} of configuration {config.name!r} is gone")
        volumes.append(volume)
    available = None
    if needs_list(config.databases):
        connection = sealed_connection(server, vault=tools.keys.vault, sealer=tools.keys.sealer)
        available = await list_databases(server, connection, tools.link, lists=tools.lists)
    databases = await select_databases_off_loop(config.databases, available)
    if not databases:
        raise InvalidRequestError(
            f"configuration {config.name!r} selects no database on server {server.name!r}"
        )
    await check_quotas(
        volumes, link=tools.link, on_over_quota=tools.over_quota(config.id)
    )  # a full volume that refuses fails it
    planned = plan_backups(
        server,
        volumes,
        databases,
        compression=config.compression,
        now=now,
        vault=tools.keys.vault,
        sealer=tools.keys.sealer,
        config_id=config.id,
        encrypted=config.encrypt,
        compression_level=config.compression_level,
        expected_sizes=await last_snapshot_sizes(server.id, databases, tools.link),
    )
    # The request rows name their configuration too (snapshots_requested.config_id).
    return [
        (request.model_copy(update={"config_id": config.id}), event) for request, event in planned
    ]
