"""The api's ports, gathered once per UI request, and the use cases the pages show: the UI
shows what the JSON API does and enforces no rule of its own."""

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request

from services.api import deps
from services.api.adapters.broker import BrokerLink
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import BackupRequests, Outbox
from services.api.adapters.restores import RestoreRequests
from services.api.adapters.retention import RetentionConfigs
from services.api.configs.model import BackupConfig
from services.api.databases import DatabaseLists
from services.api.keys import Keys
from services.api.notifications.quota import QuotaHooks
from services.api.schemas import ServerPublic, SnapshotPage, SnapshotPublic, VolumePublic
from services.api.schemas.backup_configs import BackupConfigPublic
from services.api.settings import ApiSettings
from services.api.usecases import servers as server_usecases
from services.api.usecases import snapshots as snapshot_usecases
from services.api.usecases import volumes as volume_usecases
from services.api.usecases.backups import BackupTools
from services.api.usecases.configs import find_config
from services.api.usecases.pruning import PruneTools
from services.api.usecases.restores import RestoreTools
from services.api.workers.relay import OutboxRelay
from shared.events import utc_now


@dataclass(frozen=True)
class ApiParts:
    """What the JSON routes are given by FastAPI, gathered once per UI request."""

    settings: ApiSettings
    servers: ServerRepository
    volumes: VolumeRepository
    requests: BackupRequests
    outbox: Outbox
    restores: RestoreRequests
    link: BrokerLink
    relay: OutboxRelay
    keys: Keys
    lists: DatabaseLists
    over_quota: QuotaHooks
    configs: BackupConfigRepository
    retention: RetentionConfigs
    locks: SnapshotLocks

    @property
    def snapshot_deps(self) -> dict[str, Any]:
        return {"link": self.link, "requests": self.requests, "servers": self.servers}

    @property
    def backup_tools(self) -> BackupTools:
        return BackupTools(
            self.servers, self.volumes, self.link, self.lists, self.keys, self.over_quota
        )

    @property
    def restore_tools(self) -> RestoreTools:
        return RestoreTools(
            self.settings,
            self.link,
            self.lists,
            self.servers,
            self.volumes,
            self.requests,
            self.restores,
            self.relay,
            self.keys,
        )

    @property
    def prune_tools(self) -> PruneTools:
        return PruneTools(
            self.link,
            self.locks,
            self.volumes,
            self.keys,
            self.outbox,
            self.relay,
            self.retention,
        )


def api_parts(request: Request) -> ApiParts:
    return ApiParts(
        settings=deps.get_settings(request),
        servers=deps.get_servers(request),
        volumes=deps.get_volumes(request),
        requests=deps.get_requests(request),
        outbox=deps.get_outbox(request),
        restores=deps.get_restore_requests(request),
        link=deps.get_link(request),
        relay=deps.get_relay(request),
        keys=deps.get_keys(request),
        lists=deps.get_database_lists(request),
        over_quota=deps.get_quota_hooks(request),
        configs=deps.get_configs(request),
        retention=deps.get_retention_configs(request),
        locks=deps.get_locks(request),
    )


Parts = Annotated[ApiParts, Depends(deps.on_loop(api_parts))]


async def list_servers(api: ApiParts) -> list[ServerPublic]:
    return [ServerPublic.of(server) for server in await server_usecases.list_servers(api.servers)]


async def list_volumes(api: ApiParts) -> list[VolumePublic]:
    return await volume_usecases.list_volumes(
        api.volumes, link=api.link, keys=api.keys, settings=api.settings
    )


async def volume_names(api: ApiParts) -> dict[UUID, str]:
    """Names by id, from the api's table (no usage asked: cheap enough for every poll)."""
    return {volume.id: volume.name for volume in await api.volumes.list()}


async def list_snapshots(api: ApiParts, **filters: Any) -> SnapshotPage:
    return await snapshot_usecases.list_snapshots(**api.snapshot_deps, **filters)


async def last_snapshots(api: ApiParts, servers: list[ServerPublic]) -> dict[UUID, SnapshotPublic]:
    """Each server's newest snapshot (deleted ones left out), where it has one."""
    pages = await asyncio.gather(
        *(list_snapshots(api, server_id=server.id, limit=1) for server in servers)
    )
    return {
        server.id: page.items[0] for server, page in zip(servers, pages, strict=True) if page.items
    }


async def shown_config(api: ApiParts, config_id: UUID) -> BackupConfigPublic:
    """A configuration as the API shows it, with its next slot (NotFoundError when gone)."""
    return public_config(await find_config(config_id, api.configs))


def public_config(config: BackupConfig) -> BackupConfigPublic:
    return BackupConfigPublic.of(config, now=utc_now())
