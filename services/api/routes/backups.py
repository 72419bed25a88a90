"""/api/v1/backups: ask for backups; answered at once, carried out by the pipeline."""

from fastapi import APIRouter, status

from services.api.deps import (
    Authenticated,
    Link,
    Lists,
    OverQuotaHooks,
    Relay,
    Requests,
    SecretKeys,
    Servers,
    Volumes,
)
from services.api.schemas import BackupAccepted, BackupCreate
from services.api.usecases.backups import BackupTools, manual_order, request_backups
from shared.events import utc_now

router = APIRouter(prefix="/api/v1/backups", tags=["backups"], dependencies=[Authenticated])


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
    tools = BackupTools(servers, volumes, link, lists, keys, over_quota=over_quota)
    accepted = await request_backups(
        manual_order(body), tools, requests=requests, relay=relay, now=utc_now()
    )
    return BackupAccepted.of(accepted)
