"""Restores and verifies of a snapshot, through the api's own restore routes."""

from typing import Any
from uuid import UUID

from services.api.routes import restores as restore_routes
from services.api.schemas import SnapshotDetail
from services.api.schemas.restores import RestoreCreate, VerifyCreate
from services.api.ui.calls import ApiParts


async def restores_of(api: ApiParts, snapshot: SnapshotDetail) -> list[dict[str, Any]]:
    """The snapshot's restores and verifies, newest first, with the target server's name:
    as GET /api/v1/restores lists them (those just accepted included)."""
    page = await restore_routes.list_restores(
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
    body = RestoreCreate(
        snapshot_id=snapshot_id, server_id=server_id, database=database, overwrite=overwrite
    )
    accepted = await restore_routes.request_restore(
        body,
        settings=api.settings,
        link=api.link,
        lists=api.lists,
        servers=api.servers,
        volumes=api.volumes,
        requests=api.requests,
        restores=api.restores,
        relay=api.relay,
        keys=api.keys,
    )
    return accepted.id


async def request_verify(api: ApiParts, snapshot_id: UUID, *, server_id: UUID) -> UUID:
    """Accept a verify of the snapshot on the server; the id of its restore record."""
    accepted = await restore_routes.verify_snapshot(
        snapshot_id,
        VerifyCreate(server_id=server_id),
        settings=api.settings,
        link=api.link,
        servers=api.servers,
        volumes=api.volumes,
        requests=api.requests,
        restores=api.restores,
        relay=api.relay,
        keys=api.keys,
    )
    return accepted.id
