"""/api/v1/servers: the database servers backups are taken from."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from services.api.deps import Authenticated, Configs, Link, Lists, SecretKeys, Servers, Settings
from services.api.schemas import ServerCreate, ServerPublic, ServerUpdate
from services.api.schemas.servers import DatabaseList, ServerCheckReport
from services.api.usecases import servers as usecases

router = APIRouter(prefix="/api/v1/servers", tags=["servers"], dependencies=[Authenticated])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_server(body: ServerCreate, servers: Servers, keys: SecretKeys) -> ServerPublic:
    """Register a database server. The password is stored encrypted and never returned."""
    created = await usecases.register_server(body, servers=servers, vault=keys.vault)
    return ServerPublic.of(created)


@router.get("")
async def list_servers(servers: Servers, tag: str | None = None) -> list[ServerPublic]:
    """Every registered server, by name; only those carrying `tag` when given."""
    return [ServerPublic.of(server) for server in await usecases.list_servers(servers, tag=tag)]


@router.get("/{server_id}")
async def get_server(server_id: UUID, servers: Servers) -> ServerPublic:
    """One registered server."""
    return ServerPublic.of(await usecases.find_server(server_id, servers))


@router.patch("/{server_id}")
async def update_server(
    server_id: UUID, body: ServerUpdate, servers: Servers, keys: SecretKeys, lists: Lists
) -> ServerPublic:
    """Change a server's fields; those left out keep their value, a new password is sealed.

    Changing the host, port or TLS mode needs the password again (422 otherwise): the stored
    password is only ever sent to the address it was entered for.
    """
    updated = await usecases.update_server(
        server_id, body, servers=servers, vault=keys.vault, lists=lists
    )
    return ServerPublic.of(updated)


@router.delete("/{server_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_server(
    server_id: UUID, servers: Servers, link: Link, lists: Lists, configs: Configs
) -> Response:
    """Forget a server. Refused (409) while a backup configuration backs it up, or while a
    snapshot of it, or a restore into it, is pending or in progress; its finished snapshots
    stay listed."""
    await usecases.delete_server(
        server_id, servers=servers, link=link, lists=lists, configs=configs
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{server_id}/test")
async def test_server(
    server_id: UUID, servers: Servers, link: Link, keys: SecretKeys, settings: Settings
) -> ServerCheckReport:
    """Connect as the dumper would and report each check: reachable, authenticated,
    server_version, privileges (naming the missing ones) and dump_tool.

    `archiving` says whether the server is ready for continuous archiving (point-in-time
    recovery), each prerequisite with what to change; it is advice and fails no check.
    Answers 503 with a sentence when the dumper does not answer.
    """
    return await usecases.test_server(
        server_id, servers=servers, link=link, keys=keys, wait=settings.test_timeout
    )


@router.get("/{server_id}/databases")
async def list_server_databases(
    server_id: UUID, servers: Servers, link: Link, keys: SecretKeys, lists: Lists
) -> DatabaseList:
    """The server's databases, without the system ones, as the dumper lists them."""
    databases = await usecases.server_databases(
        server_id, servers=servers, link=link, keys=keys, lists=lists
    )
    return DatabaseList(databases=databases)
