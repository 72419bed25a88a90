"""Database servers: register, change, forget, test the connection, list the databases."""

from uuid import UUID, uuid4

from services.api.adapters.broker import BrokerLink
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository
from services.api.asking import ask
from services.api.backups import sealed_connection, user_databases
from services.api.databases import DatabaseLists
from services.api.errors import ConflictError, InvalidRequestError, NotFoundError
from services.api.keys import Keys
from services.api.models import Server
from services.api.questions import list_databases, test_connection
from services.api.schemas import ServerCreate, ServerUpdate
from services.api.schemas.servers import ServerCheckReport
from services.api.vault import Vault
from shared.events import utc_now
from shared.logging import get_logger
from shared.queries import ServerActivity

log = get_logger(__name__)


async def find_server(server_id: UUID, servers: ServerRepository) -> Server:
    server = await servers.get(server_id)
    if server is None:
        raise NotFoundError(f"server {server_id} does not exist")
    return server


async def list_servers(servers: ServerRepository, *, tag: str | None = None) -> list[Server]:
    """Every registered server, by name; only those carrying `tag` when given."""
    return [server for server in await servers.list() if tag is None or tag in server.tags]


async def register_server(body: ServerCreate, *, servers: ServerRepository, vault: Vault) -> Server:
    """A new server, its password sealed in the vault."""
    sealed = vault.seal({"password": body.password.get_secret_value()})
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
    return created


async def update_server(
    server_id: UUID,
    body: ServerUpdate,
    *,
    servers: ServerRepository,
    vault: Vault,
    lists: DatabaseLists,
) -> Server:
    """The server with `body`'s fields changed; a new address needs the password again."""
    server = await find_server(server_id, servers)
    if body.password is None and body.moves_address(server):
        raise InvalidRequestError(
            "enter the password again when the address changes (host, port or TLS mode): "
            "the stored password is only sent to the address it was entered for"
        )
    changes = body.model_dump(exclude_unset=True, exclude={"password", "tls"})
    if body.password is not None:
        changes["password_sealed"] = vault.seal({"password": body.password.get_secret_value()})
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
    return updated


async def delete_server(
    server_id: UUID,
    *,
    servers: ServerRepository,
    link: BrokerLink,
    lists: DatabaseLists,
    configs: BackupConfigRepository,
) -> None:
    """Forget a server nothing backs up or restores into any more (ConflictError)."""
    server = await find_server(server_id, servers)
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


async def test_server(
    server_id: UUID, *, servers: ServerRepository, link: BrokerLink, keys: Keys, wait: float
) -> ServerCheckReport:
    """The dumper's checks of the server's connection, and its archiving verdict."""
    server = await find_server(server_id, servers)
    connection = sealed_connection(server, vault=keys.vault, sealer=keys.sealer)
    report = await test_connection(server, connection, link, wait=wait)
    log.info(
        "server_tested",
        server_id=str(server_id),
        ok=all(c.ok for c in report.checks),
        archiving_ready=report.archiving.ready if report.archiving else None,
    )
    return report


async def server_databases(
    server_id: UUID,
    *,
    servers: ServerRepository,
    link: BrokerLink,
    keys: Keys,
    lists: DatabaseLists,
) -> list[str]:
    """The server's databases, without the system ones, as the dumper lists them."""
    server = await find_server(server_id, servers)
    connection = sealed_connection(server, vault=keys.vault, sealer=keys.sealer)
    return user_databases(await list_databases(server, connection, link, lists=lists))
