"""/api/v1/servers: the database servers backups are taken from."""

from uuid import UUID, uuid4

from fastapi import APIRouter, Response, status

from services.api.asking import ask
from services.api.backups import sealed_connection, user_databases
from services.api.deps import Authenticated, Link, Lists, SecretKeys, Servers, Settings
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError
from services.api.models import Server
from services.api.questions import list_databases, test_connection
from services.api.routes.backup_configs import Configs
from services.api.schemas import ServerCreate, ServerPublic, ServerUpdate
from services.api.schemas.servers import CheckReport, DatabaseList
from shared.events import utc_now
from shared.logging import get_logger
from shared.queries import ServerActivity

router = APIRouter(prefix="/api/v1/servers", tags=["servers"], dependencies=[Authenticated])
log = get_logger(__name__)


async def _server(server_id: UUID, servers: Servers) -> Server:
    server = await servers.get(server_id)
    if server is None:
        raise NotFoundError(f"server {server_id} does not exist")
    return server


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_server(body: ServerCreate, servers: Servers, keys: SecretKeys) -> ServerPublic:
    """Register a database server. The password is stored encrypted and never returned."""
    sealed = keys.vault.seal({"password": body.password.get_secret_value()})
    server = Server(
        id=uuid4(),
        password_sealed=sealed,
        created_at=utc_now(),
        tls_mode=body.tls.mode if body.tls else None,
        tls_ca=body.tls.ca if body.tls else None,
        **body.model_dump(exclude={"password", "tls"}),
    )
    created = await servers.add(server)
    log.info("server_registered", server_id=str(created.id), server_type=created.type)
    return ServerPublic.of(created)


@router.get("")
async def list_servers(servers: Servers, tag: str | None = None) -> list[ServerPublic]:
    """Every registered server, by name; only those carrying `tag` when given."""
    return [
        ServerPublic.of(server)
        for server in await servers.list()
        if tag is None or tag in server.tags
    ]


@router.get("/{server_id}")
async def get_server(server_id: UUID, servers: Servers) -> ServerPublic:
    """One registered server."""
    return ServerPublic.of(await _server(server_id, servers))


@router.patch("/{server_id}")
async def update_server(
    server_id: UUID, body: ServerUpdate, servers: Servers, keys: SecretKeys, lists: Lists
) -> ServerPublic:
    """Change a server's fields; those left out keep their value, a new password is sealed.

    Changing the host, port or TLS mode needs the password again (422 otherwise): the stored
    password is only ever sent to the address it was entered for.
    """
    server = await _server(server_id, servers)
    if body.password is None and body.moves_address(server):
        raise InvalidRequestError(
            "enter the password again when the address changes (host, port or TLS mode): "
            "the stored password is only sent to the address it was entered for"
        )
    changes = body.model_dump(exclude_unset=True, exclude={"password", "tls"})
    if body.password is not None:
        changes["password_sealed"] = keys.vault.seal({"password": body.password.get_secret_value()})
    if "tls" in body.model_fields_set:
        changes["tls_mode"] = body.tls.mode if body.tls else None
        changes["tls_ca"] = body.tls.ca if body.tls else None
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    for required in ("name", "type", "host", "port", "username"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    updated = await servers.update(Server.model_validate(server.model_dump() | changes))
    if updated is None:
        raise NotFoundError(f"server {server_id} does not exist")
    lists.forget(server_id)
    log.info("server_updated", server_id=str(server_id), fields=sorted(body.model_fields_set))
    return ServerPublic.of(updated)


@router.delete("/{server_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_server(
    server_id: UUID, servers: Servers, link: Link, lists: Lists, configs: Configs
) -> Response:
    """Forget a server. Refused (409) while a backup configuration backs it up, or while a
    snapshot of it, or a restore into it, is pending or in progress; its finished snapshots
    stay listed."""
    server = await _server(server_id, servers)
    users = [c.name for c in await configs.list(server_id=server_id)]
    if users:
        raise ConflictError(
            f"server {server.name!r} is backed up by configuration(s) "
            f"{', '.join(repr(n) for n in users)}; delete them first"
        )
    activity = await ask(link, ServerActivity(server_id=server_id))
    running = activity.in_progress
    if running:
        raise ConflictError(
            f"server {server.name!r} has {running} snapshot(s) pending or in progress; "
            "wait for them or cancel them first"
        )
    restoring = activity.restores
    if restoring:
        raise ConflictError(
            f"server {server.name!r} has {restoring} restore(s) pending or in progress into "
            "it; wait for them first"
        )
    if not await servers.delete(server_id):
        raise NotFoundError(f"server {server_id} does not exist")
    lists.forget(server_id)
    log.info("server_deleted", server_id=str(server_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{server_id}/test")
async def test_server(
    server_id: UUID, servers: Servers, link: Link, keys: SecretKeys, settings: Settings
) -> CheckReport:
    """Connect as the dumper would and report each check: reachable, authenticated,
    server_version, privileges (naming the missing ones) and dump_tool.

    Answers 503 with a sentence when the dumper does not answer.
    """
    server = await _server(server_id, servers)
    connection = sealed_connection(server, vault=keys.vault, sealer=keys.sealer)
    checks = await test_connection(server, connection, link, wait=settings.test_timeout)
    log.info("server_tested", server_id=str(server_id), ok=all(c.ok for c in checks))
    return CheckReport(checks=checks)


@router.get("/{server_id}/databases")
async def list_server_databases(
    server_id: UUID, servers: Servers, link: Link, keys: SecretKeys, lists: Lists
) -> DatabaseList:
    """The server's databases, without the system ones, as the dumper lists them."""
    server = await _server(server_id, servers)
    connection = sealed_connection(server, vault=keys.vault, sealer=keys.sealer)
    databases = await list_databases(server, connection, link, lists=lists)
    return DatabaseList(databases=user_databases(databases))
