"""Requesting backups: one flow for `POST /backups`, the Backup dialog, a configuration's
run and the scheduler's firing.

The flow finds the server and the volumes, unseals the server's connection once, chooses the
databases (one named, every user database, or a configuration's selection), enforces the
volumes' quotas and plans one request and its BackupRequested per database.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.backups import plan_backups, sealed_connection, user_databases
from services.api.configs.model import BackupConfig
from services.api.configs.selection import needs_list, select_databases_off_loop
from services.api.databases import DatabaseLists
from services.api.deadlines import refuse_if_late
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.keys import Keys
from services.api.models import BackupRequest, Server, Volume
from services.api.questions import check_database, list_databases
from services.api.quotas import OverQuotaHook, check_quotas, log_over_quota
from services.api.schemas.backups import BackupCreate
from services.api.workers.relay import OutboxRelay
from shared.events import BackupRequested, Compression
from shared.logging import get_logger

log = get_logger(__name__)
Planned = list[tuple[BackupRequest, BackupRequested]]


@dataclass(frozen=True)
class BackupTools:
    """What planning backups needs from the api."""

    servers: ServerRepository
    volumes: VolumeRepository
    link: BrokerLink
    lists: DatabaseLists
    keys: Keys
    over_quota: Callable[[UUID | None], OverQuotaHook] = lambda _config_id: log_over_quota
    """The hook told about a volume over its quota (None: a manual backup)."""


class DatabaseChoice(Protocol):
    """Which databases of the server a request backs up."""

    async def choose(self, server: Server, connection: str, tools: BackupTools) -> list[str]: ...


@dataclass(frozen=True)
class NamedDatabase:
    """One database the dumper must know, or every user database (`name` None)."""

    name: str | None

    async def choose(self, server: Server, connection: str, tools: BackupTools) -> list[str]:
        if self.name is not None:
            await check_database(server, self.name, connection, tools.link, lists=tools.lists)
            return [self.name]
        listed = await list_databases(server, connection, tools.link, lists=tools.lists)
        databases = user_databases(listed)
        if not databases:
            raise InvalidRequestError(f"server {server.name!r} has no database to back up")
        return databases


@dataclass(frozen=True)
class ConfiguredDatabases:
    """A configuration's selection; the server's list is asked only when it needs one."""

    config: BackupConfig

    async def choose(self, server: Server, connection: str, tools: BackupTools) -> list[str]:
        available = None
        if needs_list(self.config.databases):
            available = await list_databases(server, connection, tools.link, lists=tools.lists)
        databases = await select_databases_off_loop(self.config.databases, available)
        if not databases:
            raise InvalidRequestError(
                f"configuration {self.config.name!r} selects no database on server {server.name!r}"
            )
        return databases


@dataclass(frozen=True)
class BackupOrder:
    """What to back up, where and how; `config` names the configuration it comes from."""

    server_id: UUID
    volume_ids: Sequence[UUID]
    databases: DatabaseChoice
    compression: Compression
    encrypted: bool = False
    compression_level: int | None = None
    config: BackupConfig | None = None


def manual_order(body: BackupCreate) -> BackupOrder:
    """A backup asked for by hand (`POST /api/v1/backups`, the Backup dialog)."""
    return BackupOrder(
        server_id=body.server_id,
        volume_ids=body.volumes,
        databases=NamedDatabase(body.database),
        compression=body.compression,
        encrypted=body.encrypt,
    )


def config_order(config: BackupConfig) -> BackupOrder:
    """A configuration's backups, run by hand or fired by the scheduler."""
    return BackupOrder(
        server_id=config.server_id,
        volume_ids=config.volume_ids,
        databases=ConfiguredDatabases(config),
        compression=config.compression,
        encrypted=config.encrypt,
        compression_level=config.compression_level,
        config=config,
    )


async def plan_backup_order(order: BackupOrder, tools: BackupTools, *, now: datetime) -> Planned:
    """One request and its BackupRequested per chosen database.

    NotFoundError when the server or a volume is missing; InvalidRequestError when the
    databases cannot be listed (the dumper's reason), a named one does not exist or none is
    chosen, and QuotaExceededError for a full volume that refuses; UnavailableError when
    nobody answered the list question (broker or dumper away).
    """
    server = await tools.servers.get(order.server_id)
    if server is None:
        raise NotFoundError(_missing("server", order.server_id, order.config))
    volumes = await _volumes(order, tools)
    connection = sealed_connection(server, vault=tools.keys.vault, sealer=tools.keys.sealer)
    databases = await order.databases.choose(server, connection, tools)
    config_id = order.config.id if order.config else None
    await check_quotas(volumes, link=tools.link, on_over_quota=tools.over_quota(config_id))
    planned = plan_backups(
        server,
        volumes,
        databases,
        compression=order.compression,
        now=now,
        vault=tools.keys.vault,
        sealer=tools.keys.sealer,
        config_id=config_id,
        encrypted=order.encrypted,
        compression_level=order.compression_level,
        connection=connection,
    )
    # The request rows name their configuration too (snapshots_requested.config_id).
    return [
        (request.model_copy(update={"config_id": config_id}), event) for request, event in planned
    ]


async def _volumes(order: BackupOrder, tools: BackupTools) -> list[Volume]:
    volumes = []
    for volume_id in order.volume_ids:
        volume = await tools.volumes.get(volume_id)
        if volume is None:
            raise NotFoundError(_missing("volume", volume_id, order.config))
        volumes.append(volume)
    return volumes


def _missing(kind: str, thing_id: UUID, config: BackupConfig | None) -> str:
    if config is None:
        return f"{kind} {thing_id} does not exist"
    return f"{kind} {thing_id} of configuration {config.name!r} is gone"


async def request_backups(
    order: BackupOrder,
    tools: BackupTools,
    *,
    requests: BackupRequests,
    relay: OutboxRelay,
    now: datetime,
) -> list[BackupRequest]:
    """Plan the order, store the requests with their events in one transaction, and wake the
    relay so the events leave at once (or once the broker is back)."""
    planned = await plan_backup_order(order, tools, now=now)
    refuse_if_late()
    await requests.accept(planned)
    relay.wake()
    accepted = [request for request, _ in planned]
    if order.config is None:
        for request in accepted:
            log.info("backup_accepted", snapshot_id=str(request.id), database=request.database)
    else:
        log.info(
            "backup_config_run",
            config_id=str(order.config.id),
            snapshot_ids=[str(request.id) for request in accepted],
        )
    return accepted
