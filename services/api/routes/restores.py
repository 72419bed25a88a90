"""/api/v1/restores and /api/v1/snapshots/{id}/verify: bring a snapshot back, or prove it can be.

The dumper carries restores out; the catalog records them. A restore is accepted only into a
database nothing else is writing or reading for a backup, and never into the service's own.
"""

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, status

from services.api.anchoring import anchor_for
from services.api.asking import ask
from services.api.backups import sealed_connection
from services.api.copies import readable_copy
from services.api.deps import (
    Authenticated,
    Link,
    Lists,
    Relay,
    Requests,
    Restores,
    SecretKeys,
    Servers,
    Settings,
    Volumes,
)
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError, RefusedError
from services.api.models import RestoreRequest, Server
from services.api.questions import list_databases
from services.api.restores import (
    check_engine,
    check_not_own,
    compression_of,
    engine_of,
    new_request,
    own_database,
    pending_restore,
    restore_event,
    scratch_database,
)
from services.api.routes.snapshots import CATALOG_LAG, find_snapshot
from services.api.schemas import SnapshotDetail
from services.api.schemas._text import PRINTABLE
from services.api.schemas.restores import (
    RestoreAccepted,
    RestoreCreate,
    RestorePage,
    RestorePublic,
    RestoreStatus,
    VerifyAccepted,
    VerifyCreate,
)
from services.api.volumes import volume_spec
from shared.events import RestoreMode, utc_now
from shared.logging import get_logger
from shared.queries import GetRestore, ListRestores, TargetActivity

router = APIRouter(prefix="/api/v1", tags=["restores"], dependencies=[Authenticated])
log = get_logger(__name__)


async def _server(server_id: UUID, servers: Servers) -> Server:
    server = await servers.get(server_id)
    if server is None:
        raise NotFoundError(f"server {server_id} does not exist")
    return server


async def _restorable(snapshot: SnapshotDetail, target: Server, servers: Servers) -> None:
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
    target: Server, database: str, *, link: Link, requests: Requests, restores: Restores
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
    volumes: Volumes,
    restores: Restores,
    relay: Relay,
    keys: SecretKeys,
) -> RestoreRequest:
    """Store the request and its RestoreRequested in one transaction, and wake the relay."""
    anchor = anchor_for(
        snapshot.id, manifest=snapshot.manifest, sha256=snapshot.sha256, size=snapshot.size
    )
    readable = await readable_copy(snapshot, volumes)  # issue 8: the first stored copy
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


@router.post("/restores", status_code=status.HTTP_202_ACCEPTED)
async def request_restore(
    body: RestoreCreate,
    *,
    settings: Settings,
    link: Link,
    lists: Lists,
    servers: Servers,
    volumes: Volumes,
    requests: Requests,
    restores: Restores,
    relay: Relay,
    keys: SecretKeys,
) -> RestoreAccepted:
    """Restore a completed snapshot into a database of the same or another server.

    PostgreSQL goes to PostgreSQL; MySQL and MariaDB go to either (422 otherwise). A missing
    database is created. Refused with 409 when the snapshot is not completed; when the
    database exists and `overwrite` is not set; when a backup is being taken from it or
    another restore is writing into it; and when it is one of the service's own databases or
    a system database. The restore is answered at once as pending; follow it at
    GET /api/v1/restores/{id}.
    """
    snapshot = await find_snapshot(body.snapshot_id, link=link, requests=requests, servers=servers)
    target = await _server(body.server_id, servers)
    await _restorable(snapshot, target, servers)
    if not body.overwrite:
        # Asked afresh, never from the remembered list: a database made a second ago counts.
        connection = sealed_connection(target, vault=keys.vault, sealer=keys.sealer)
        if body.database in await list_databases(target, connection, link, lists=lists):
            raise ConflictError(
                f"database {body.database!r} already exists on server {target.name!r}; "
                "restore with overwrite to replace its content"
            )
    backups, running = await _activity(
        target, body.database, link=link, requests=requests, restores=restores
    )
    if backups:
        raise ConflictError(
            f"database {body.database!r} on server {target.name!r} is being backed up "
            f"(snapshot {backups[0]}); wait for the backup to finish"
        )
    check_not_own(target, body.database, own=own_database(settings.database.url.get_secret_value()))
    if running:
        raise ConflictError(
            f"restore {running[0]} is already writing into database {body.database!r} on "
            f"server {target.name!r}; wait for it to finish"
        )
    request = await _accept(
        snapshot,
        target,
        mode="restore",
        database=body.database,
        overwrite=body.overwrite,
        volumes=volumes,
        restores=restores,
        relay=relay,
        keys=keys,
    )
    return RestoreAccepted(id=request.id)


@router.post("/snapshots/{snapshot_id}/verify", status_code=status.HTTP_202_ACCEPTED)
async def verify_snapshot(
    snapshot_id: UUID,
    body: VerifyCreate,
    *,
    settings: Settings,
    link: Link,
    servers: Servers,
    volumes: Volumes,
    requests: Requests,
    restores: Restores,
    relay: Relay,
    keys: SecretKeys,
) -> VerifyAccepted:
    """Verify a completed snapshot: restore it into a new scratch database on the server,
    compare every table's row count with the manifest, and drop the scratch database.

    The snapshot then shows `verified_at` and `verify_result`. Refused like a restore: 409
    for a snapshot that is not completed, 422 for a server of another engine family.
    """
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    target = await _server(body.server_id, servers)
    await _restorable(snapshot, target, servers)
    database = scratch_database()
    check_not_own(target, database, own=own_database(settings.database.url.get_secret_value()))
    request = await _accept(
        snapshot,
        target,
        mode="verify",
        database=database,
        overwrite=False,
        volumes=volumes,
        restores=restores,
        relay=relay,
        keys=keys,
    )
    return VerifyAccepted(id=request.id, database=database)


@router.get("/restores/{restore_id}")
async def get_restore(restore_id: UUID, *, link: Link, restores: Restores) -> RestorePublic:
    """One restore or verify: its target, status, bytes restored, chunks verified, why it
    failed, and for a verify the tables whose row counts differ."""
    try:
        reply = await ask(link, GetRestore(restore_id=restore_id))
    except RefusedError as exc:
        if not exc.not_found:
            raise
    else:
        return RestorePublic.model_validate(reply.restore)
    request = await restores.get(restore_id)
    if request is None:
        raise NotFoundError(f"restore {restore_id} does not exist")
    return pending_restore(request)


@router.get("/restores")
async def list_restores(
    *,
    link: Link,
    restores: Restores,
    snapshot_id: UUID | None = None,
    status: RestoreStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000, pattern=PRINTABLE)] = None,
) -> RestorePage:
    """Restores and verifies, newest first, one page at a time; only those of `snapshot_id`
    or in `status` when given. Pass `next_cursor` back as `cursor`; it is null on the last."""
    query = ListRestores(snapshot_id=snapshot_id, status=status, limit=limit, cursor=cursor)
    try:
        reply = await ask(link, query)
    except RefusedError as exc:
        if exc.invalid:
            raise InvalidRequestError(f"the catalog refused the listing: {exc.reason}") from None
        raise
    items = [RestorePublic.model_validate(item) for item in reply.restores]
    next_cursor = reply.next_cursor
    if cursor is None and status is None:
        # The first page also shows requests the catalog has not recorded yet (it may lag
        # the outbox by a moment), as far as they belong on this page.
        recent = await restores.since(utc_now() - CATALOG_LAG, snapshot_id=snapshot_id)
        known = {item.id for item in items}
        oldest = items[-1].created_at if items and next_cursor else None
        items += [
            pending_restore(r)
            for r in recent
            if r.id not in known and (oldest is None or r.requested_at >= oldest)
        ]
        items.sort(key=lambda r: (r.created_at, str(r.id)), reverse=True)
    return RestorePage(items=items, next_cursor=next_cursor)
