"""Restores and verifies of a snapshot, through the api's restore use cases."""

from typing import Any
from uuid import UUID

from services.api.schemas import SnapshotDetail
from services.api.schemas.restores import RestoreCreate
from services.api.ui.calls import ApiParts
from services.api.usecases import restores as restore_usecases
from services.api.usecases.restore_records import list_restores


async def restores_of(api: ApiParts, snapshot: SnapshotDetail) -> list[dict[str, Any]]:
    """The snapshot's restores and verifies, newest first, with the target server's name:
    as GET /api/v1/restores lists them (those just accepted included)."""
    page = await list_restores(
        link=api.link, restores=api.restores, snapshot_id=snapshot.id, limit=20
    )
    names = {server.id: server.name for server in await api.servers.list()}
    return [
        restore.model_dump()
        | {"server_name": names.get(restore.server_id, "") if restore.server_id else ""}
        for restore in page.items
    ]


async def request_restore(
    api: ApiParts, snapshot_id: UUID, *, server_id: UUID, database: str, overwrite: bool
) -> UUID:
    """Accept a restore of the snapshot into `database` on the server; the restore's id."""
    # Validated as the JSON body is: the database name's rules are the API's.
    body = RestoreCreate(
        snapshot_id=snapshot_id, server_id=server_id, database=database, overwrite=overwrite
    )
    accepted = await restore_usecases.request_restore(
        body.snapshot_id,
        body.server_id,
        body.database,
        overwrite=body.overwrite,
        tools=api.restore_tools,
    )
    return accepted.id


async def request_verify(api: ApiParts, snapshot_id: UUID, *, server_id: UUID) -> UUID:
    """Accept a verify of the snapshot on the server; the id of its restore record."""
    accepted = await restore_usecases.verify_snapshot(snapshot_id, server_id, api.restore_tools)
    return accepted.id
