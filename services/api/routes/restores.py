"""/api/v1/restores and /api/v1/snapshots/{id}/verify: bring a snapshot back, or prove it can be.

The dumper carries restores out; the catalog records them. A restore is accepted only into a
database nothing else is writing or reading for a backup, and never into the service's own.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

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
from services.api.usecases import restore_records as records
from services.api.usecases import restores as usecases
from services.api.usecases.restores import RestoreTools

router = APIRouter(prefix="/api/v1", tags=["restores"], dependencies=[Authenticated])


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
    tools = RestoreTools(settings, link, lists, servers, volumes, requests, restores, relay, keys)
    request = await usecases.request_restore(
        body.snapshot_id, body.server_id, body.database, overwrite=body.overwrite, tools=tools
    )
    return RestoreAccepted(id=request.id)


@router.post("/snapshots/{snapshot_id}/verify", status_code=status.HTTP_202_ACCEPTED)
async def verify_snapshot(
    snapshot_id: UUID,
    body: VerifyCreate,
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
) -> VerifyAccepted:
    """Verify a completed snapshot: restore it into a new scratch database on the server,
    compare every table's row count with the manifest, and drop the scratch database.

    The snapshot then shows `verified_at` and `verify_result`. Refused like a restore: 409
    for a snapshot that is not completed, 422 for a server of another engine family.
    """
    tools = RestoreTools(settings, link, lists, servers, volumes, requests, restores, relay, keys)
    request = await usecases.verify_snapshot(snapshot_id, body.server_id, tools)
    return VerifyAccepted(id=request.id, database=request.database)


@router.get("/restores/{restore_id}")
async def get_restore(restore_id: UUID, *, link: Link, restores: Restores) -> RestorePublic:
    """One restore or verify: its target, status, bytes restored, chunks verified, why it
    failed, and for a verify the tables whose row counts differ."""
    return await records.find_restore(restore_id, link=link, restores=restores)


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
    return await records.list_restores(
        link=link,
        restores=restores,
        snapshot_id=snapshot_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
