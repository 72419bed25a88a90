"""/api/v1/backups: ask for backups; answered at once, carried out by the pipeline."""

from fastapi import APIRouter, status

from services.api.backups import plan_backups, sealed_connection, user_databases
from services.api.deps import (
    Authenticated,
    Link,
    Lists,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Volumes,
)
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.notifications.quota import OverQuotaHooks
from services.api.questions import check_database, last_snapshot_sizes, list_databases
from services.api.quotas import check_quotas
from services.api.schemas import BackupAccepted, BackupCreate, SnapshotAccepted
from shared.events import utc_now
from shared.logging import get_logger

router = APIRouter(prefix="/api/v1/backups", tags=["backups"], dependencies=[Authenticated])
log = get_logger(__name__)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def request_backup(
    body: BackupCreate,
    *,
    servers: Servers,
    volumes: Volumes,
    requests: Requests,
    link: Link,
    relay: Relay,
    keys: SecretKeys,
    lists: Lists,
    over_quota: OverQuotaHooks,
) -> BackupAccepted:
    """Back up one database, or every database of the server (`database: null`).

    The database must exist on the server (the dumper's list says so; 422 otherwise). The
    request and its events are stored in one transaction and answered at once with one
    pending snapshot per database; the events reach the dumper through the outbox, even when
    the broker comes back only later (then the database name is checked by the dumper).
    """
    server = await servers.get(body.server_id)
    if server is None:
        raise NotFoundError(f"server {body.server_id} does not exist")
    chosen = []
    for volume_id in body.volumes:
        volume = await volumes.get(volume_id)
        if volume is None:
            raise NotFoundError(f"volume {volume_id} does not exist")
        chosen.append(volume)
    connection = sealed_connection(server, vault=keys.vault, sealer=keys.sealer)
    if body.database is not None:
        await check_database(server, body.database, connection, link, lists=lists)
        databases = [body.database]
    else:
        databases = user_databases(await list_databases(server, connection, link, lists=lists))
        if not databases:
            raise InvalidRequestError(f"server {server.name!r} has no database to back up")
    await check_quotas(
        chosen, link=link, on_over_quota=over_quota(None)
    )  # 422 for a full volume that refuses
    planned = plan_backups(
        server,
        chosen,
        databases,
        compression=body.compression,
        encrypted=body.encrypt,
        now=utc_now(),
        vault=keys.vault,
        sealer=keys.sealer,
        expected_sizes=await last_snapshot_sizes(server.id, databases, link),
    )
    await requests.accept(planned)
    relay.wake()
    for request, _ in planned:
        log.info("backup_accepted", snapshot_id=str(request.id), database=request.database)
    return BackupAccepted(
        snapshots=[
            SnapshotAccepted(id=request.id, database=request.database) for request, _ in planned
        ]
    )
