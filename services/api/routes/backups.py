"""/api/v1/backups: ask for backups; answered at once, carried out by the pipeline."""

from fastapi import APIRouter, status

from services.api.backups import connection_spec, plan_backups, user_databases
from services.api.deps import Link, Relay, Requests, SecretKeys, Servers, Volumes
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.models import Server
from services.api.schemas import BackupAccepted, BackupCreate, SnapshotAccepted
from shared.events import utc_now
from shared.logging import get_logger

router = APIRouter(prefix="/api/v1/backups", tags=["backups"])
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
) -> BackupAccepted:
    """Back up one database, or every database of the server (`database: null`).

    The request and its events are stored in one transaction and answered at once with
    one pending snapshot per database; the events reach the dumper through the outbox,
    even when the broker comes back only later.
    """
    server = await servers.get(body.server_id)
    if server is None:
        raise NotFoundError(f"server {body.server_id} does not exist")
    volume = await volumes.get(body.volume_id)
    if volume is None:
        raise NotFoundError(f"volume {body.volume_id} does not exist")
    databases = (
        [body.database] if body.database is not None else await _databases_of(server, link, keys)
    )
    planned = plan_backups(
        server,
        volume,
        databases,
        compression=body.compression,
        now=utc_now(),
        vault=keys.vault,
        sealer=keys.sealer,
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


async def _databases_of(server: Server, link: Link, keys: SecretKeys) -> list[str]:
    """Every user database of `server`, as the dumper lists them (interfaces.md #8)."""
    connection = keys.sealer.seal(connection_spec(server, vault=keys.vault))
    reply = await link.ask_dumper({"op": "list_databases", "connection": connection})
    if not reply.get("ok"):
        error = reply.get("error") or "no reason given"
        raise InvalidRequestError(f"cannot list the databases of server {server.name!r}: {error}")
    databases = user_databases([str(name) for name in reply.get("databases") or []])
    if not databases:
        raise InvalidRequestError(f"server {server.name!r} has no database to back up")
    return databases
