"""/api/v1/servers: the database servers backups are taken from."""

from uuid import UUID, uuid4

from fastapi import APIRouter, status

from services.api.deps import SecretKeys, Servers
from services.api.errors import NotFoundError
from services.api.models import Server
from services.api.schemas import ServerCreate, ServerPublic
from shared.events import utc_now
from shared.logging import get_logger

router = APIRouter(prefix="/api/v1/servers", tags=["servers"])
log = get_logger(__name__)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ServerPublic)
async def create_server(body: ServerCreate, servers: Servers, keys: SecretKeys) -> Server:
    """Register a database server. The password is stored encrypted and never returned."""
    sealed = keys.vault.seal({"password": body.password.get_secret_value()})
    server = Server(
        id=uuid4(),
        password_sealed=sealed,
        created_at=utc_now(),
        **body.model_dump(exclude={"password"}),
    )
    created = await servers.add(server)
    log.info("server_registered", server_id=str(created.id), server_type=created.type)
    return created


@router.get("", response_model=list[ServerPublic])
async def list_servers(servers: Servers) -> list[Server]:
    """Every registered server, by name."""
    return await servers.list()


@router.get("/{server_id}", response_model=ServerPublic)
async def get_server(server_id: UUID, servers: Servers) -> Server:
    """One registered server."""
    server = await servers.get(server_id)
    if server is None:
        raise NotFoundError(f"server {server_id} does not exist")
    return server
