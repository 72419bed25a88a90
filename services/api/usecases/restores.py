"""Restores and verifies: bring a snapshot back into a database, or prove it can be.

A restore is accepted only into a database nothing else is writing or reading for a
backup, and never into the service's own.
"""

from dataclasses import dataclass
from uuid import UUID, uuid4

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.adapters.restores import RestoreRequests
from services.api.anchoring import anchor_for
from services.api.asking import ask
from services.api.backups import sealed_connection
from services.api.copies import readable_copy
from services.api.databases import DatabaseLists
from services.api.deadlines import refuse_if_late
from services.api.errors import ConflictError, NotFoundError
from services.api.keys import Keys
from services.api.models import RestoreRequest, Server
from services.api.questions import list_databases
from services.api.restores import (
    check_engine,
    check_not_own,
    compression_of,
    engine_of,
    new_request,
    own_database,
    restore_event,
    scratch_database,
)
from services.api.schemas import SnapshotDetail
from services.api.settings import ApiSettings
from services.api.usecases.snapshots import CATALOG_LAG, find_snapshot
from services.api.volumes import volume_spec
from services.api.workers.relay import OutboxRelay
from shared.events import RestoreMode, utc_now
from shared.logging import get_logger
from shared.queries import TargetActivity

log = get_logger(__name__)


@dataclass(frozen=True)
class RestoreTools:
    """What accepting a restore talks to: the catalog, the api's tables, the keys."""

    settings: ApiSettings
    link: BrokerLink
    lists: DatabaseLists
    servers: ServerRepository
    volumes: VolumeRepository
    requests: BackupRequests
    restores: RestoreRequests
    relay: OutboxRelay
    keys: Keys


async def _server(server_id: UUID, servers: ServerRepository) -> Server:
    server = await servers.get(server_id)
    if server is None:
        raise NotFoundError(f"server {server_id} does not exist")
    return server


async def _restorable(snapshot: SnapshotDetail, target: Server, servers: ServerRepository) -> None:
    """409 unless the snapshot is completed; 422 unless its engine fits the target's."""
    if snapshot.status != "completed" or not snapshot.path:
        raise ConflictError(
            f"snapshot {snapshot.id} is {snapshot.status}; only a completed snapshot can be "
            "restored"
        )
    source = await servers.get(snapshot.server_id) if snapshot.server_id else None
    engine = engine_of(server_type=snapshot.server_type, manifest=snapshot.manifest, source=source)
    check_engine(engine, target)


async def _activity(
    target: Server,
    database: str,
    *,
    link: BrokerLink,
    requests: BackupRequests,
    restores: RestoreRequests,
) -> tuple[list[str], list[str]]:
    """The backups running from, and the restores running into, this database: as the
    catalog knows them, and the api's recent requests it has not recorded yet."""
    since = utc_now() - CATALOG_LAG
    backups = await requests.since(since, server_id=target.id)
    recent = await restores.since(since, server_id=target.id, database=database)
    query = TargetActivity(
        server_id=target.id,
        database=database,
        requested=[r.id for r in backups if r.database == database],
        requested_restores=[r.id for r in recent],
    )
    reply = await ask(link, query)
    return [str(sid) for sid in reply.backups], [str(rid) for rid in reply.restores]


async def _accept(
    snapshot: SnapshotDetail,
    target: Server,
    *,
    mode: RestoreMode,
    database: str,
    overwrite: bool,
    tools: RestoreTools,
) -> RestoreRequest:
    """Store the request and its RestoreRequested in one transaction, and wake the relay."""
    volumes, restores, relay, keys = tools.volumes, tools.restores, tools.relay, tools.keys
    anchor = anchor_for(
        snapshot.id, manifest=snapshot.manifest, sha256=snapshot.sha256, size=snapshot.size
    )
    readable = await readable_copy(snapshot, volumes)  # the first stored copy
    if readable is None:
        raise ConflictError(f"the volume of snapshot {snapshot.id} is no longer registered")
    volume, copy = readable.volume, readable.copy
    request = new_request(
        uuid4(),
        snapshot.id,
        mode=mode,
        target=target,
        database=database,
        overwrite=overwrite,
        now=utc_now(),
    )
    event = restore_event(
        request,
        target=target,
        connection=sealed_connection(target, vault=keys.vault, sealer=keys.sealer),
        volume_id=volume.id,
        volume=keys.sealer.seal(volume_spec(volume, vault=keys.vault)),
        path=copy.path,
        manifest_path=copy.manifest_path,
        compression=compression_of(snapshot.compression, copy.path),
        anchor=anchor,
    )
    refuse_if_late()
    await restores.accept(request, event)
    relay.wake()
    log.info(
        "restore_accepted",
        restore_id=str(request.id),
        snapshot_id=str(snapshot.id),
        mode=mode,
        server_id=str(target.id),
        database=database,
    )
    return request


async def request_restore(
    snapshot_id: UUID, server_id: UUID, database: str, *, overwrite: bool, tools: RestoreTools
) -> RestoreRequest:
    """Accept a restore of a completed snapshot into `database` on the server.

    ConflictError when the snapshot is not completed; when the database exists and
    `overwrite` is not set; when a backup is being taken from it or another restore is
    writing into it; and when it is one of the service's own databases or a system database.
    InvalidRequestError for a server of another engine family.
    """
    settings, link, lists, servers = tools.settings, tools.link, tools.lists, tools.servers
    requests, restores = tools.requests, tools.restores
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    target = await _server(server_id, servers)
    await _restorable(snapshot, target, servers)
    if not overwrite:
        # Asked afresh, never from the remembered list: a database made a second ago counts.
        keys = tools.keys
        connection = sealed_connection(target, vault=keys.vault, sealer=keys.sealer)
        if database in await list_databases(target, connection, link, lists=lists):
            raise ConflictError(
                f"database {database!r} already exists on server {target.name!r}; "
                "restore with overwrite to replace its content"
            )
    backups, running = await _activity(
        target, database, link=link, requests=requests, restores=restores
    )
    if backups:
        raise ConflictError(
            f"database {database!r} on server {target.name!r} is being backed up "
            f"(snapshot {backups[0]}); wait for the backup to finish"
        )
    check_not_own(target, database, own=own_database(settings.database.url.get_secret_value()))
    if running:
        raise ConflictError(
            f"restore {running[0]} is already writing into database {database!r} on "
            f"server {target.name!r}; wait for it to finish"
        )
    return await _accept(
        snapshot,
        target,
        mode="restore",
        database=database,
        overwrite=overwrite,
        tools=tools,
    )


async def verify_snapshot(
    snapshot_id: UUID, server_id: UUID, tools: RestoreTools
) -> RestoreRequest:
    """Accept a verify: a restore into a new scratch database, compared with the manifest
    and dropped. Refused like a restore."""
    link, servers, requests = tools.link, tools.servers, tools.requests
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    target = await _server(server_id, servers)
    await _restorable(snapshot, target, servers)
    database = scratch_database()
    own = own_database(tools.settings.database.url.get_secret_value())
    check_not_own(target, database, own=own)
    return await _accept(
        snapshot,
        target,
        mode="verify",
        database=database,
        overwrite=False,
        tools=tools,
    )
