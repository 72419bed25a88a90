"""The rules a restore request must pass, and the RestoreRequested it becomes. Pure.

- PostgreSQL restores into PostgreSQL; MySQL and MariaDB into either of the two.
- Never into a database a backup is being taken from, nor one a restore is already writing.
- Never into the service's own databases: the one in DATABASE_URL on its server, nor any
  database of that name (the same PostgreSQL may be registered under another host name);
  nor into a system database (postgres, mysql, ...).
"""

import secrets
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.api.backups import SYSTEM_DATABASES
from services.api.errors import ConflictError, InvalidRequestError
from services.api.models import RestoreRequest, Server
from services.api.schemas.restores import RestorePublic
from shared.events import (
    ArtifactAnchor,
    Compression,
    RestoreMode,
    RestoreRequested,
    RestoreSource,
    ServerType,
)
from shared.naming import manifest_key

Family = Literal["postgresql", "mysql"]
FAMILIES: dict[ServerType, Family] = {
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
TOOLS: dict[str, ServerType] = {"pg_dump": "postgresql", "mysqldump": "mysql"}
"""The dump tool named in a manifest, and the engine it dumps (mariadb-dump: see engine_of)."""
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
VERIFY_PREFIX = "dbm_verify_"


class OwnDatabase(BaseModel):
    """Where the service keeps its own tables: host, port and database of DATABASE_URL."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    name: str


def own_database(url: str) -> OwnDatabase | None:
    """The host, port and database name of a PostgreSQL URL; None when it names none."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return None
    return OwnDatabase(
        host=normal_host(parts.hostname or "localhost"), port=parts.port or 5432, name=name
    )


def normal_host(host: str) -> str:
    """A host as compared: lower case, every loopback spelling the same."""
    host = host.strip().lower()
    return "localhost" if host in LOCAL_HOSTS else host


def family(server_type: ServerType) -> Family:
    return FAMILIES[server_type]


def engine_of(
    *, server_type: str | None, manifest: dict[str, object] | None, source: Server | None
) -> ServerType | None:
    """The engine a snapshot was dumped from: recorded by the catalog, else read from the
    manifest's tool, else the source server's type (when it is still registered)."""
    if server_type in FAMILIES:
        return server_type
    tool = str((manifest or {}).get("tool") or "")
    if tool.startswith("mariadb"):
        return "mariadb"
    if tool in TOOLS:
        return TOOLS[tool]
    return None if source is None else source.type


def check_engine(snapshot_engine: ServerType | None, target: Server) -> None:
    """InvalidRequestError unless the snapshot's engine restores into the target's."""
    if snapshot_engine is None:
        raise InvalidRequestError("the engine the snapshot was taken from is unknown")
    if family(snapshot_engine) != family(target.type):
        raise InvalidRequestError(
            f"a {snapshot_engine} snapshot cannot be restored into a {target.type} server"
        )


def check_not_own(target: Server, database: str, *, own: OwnDatabase | None) -> None:
    """ConflictError when the target is a system database, or is (or is named like) the
    service's own database."""
    if database in SYSTEM_DATABASES:
        raise ConflictError(
            f"database {database!r} is a system database; a restore never writes into it"
        )
    if own is None or database != own.name:
        return
    same_server = normal_host(target.host) == own.host and target.port == own.port
    if same_server and target.type == "postgresql":
        raise ConflictError(
            f"database {database!r} on server {target.name!r} is the service's own database; "
            "a restore never writes into it"
        )
    raise ConflictError(
        f"database {database!r} has the name of the service's own database; "
        "restore into another name"
    )


def scratch_database() -> str:
    """A throw-away database name for a verify: `dbm_verify_<8 hex>`."""
    return VERIFY_PREFIX + secrets.token_hex(4)


def compression_of(compression: str | None, path: str) -> Compression:
    """How the artifact is compressed: as recorded, else by its extension."""
    if compression in ("gzip", "zstd"):
        return compression  # type: ignore[return-value]
    return "zstd" if path.endswith(".zst") else "gzip"


def restore_event(
    request: RestoreRequest,
    *,
    target: Server,
    connection: str,
    volume_id: UUID,
    volume: str,
    path: str,
    manifest_path: str | None,
    compression: Compression,
    anchor: ArtifactAnchor,
) -> RestoreRequested:
    """The event of an accepted restore; the connection and the volume travel sealed, with
    the catalog's record of the artifact that the dumper checks the volume against."""
    return RestoreRequested(
        snapshot_id=request.snapshot_id,
        restore_id=request.id,
        mode=request.mode,
        server_id=target.id,
        server_type=target.type,
        connection=connection,
        database=request.database,
        overwrite=request.overwrite,
        source=RestoreSource(
            volume_id=volume_id,
            volume=volume,
            artifact_key=path,
            manifest_key=manifest_path or manifest_key(path),
            compression=compression,
            anchor=anchor,
        ),
        requested_at=request.requested_at,
    )


def new_request(
    restore_id: UUID,
    snapshot_id: UUID,
    *,
    mode: RestoreMode,
    target: Server,
    database: str,
    overwrite: bool,
    now: datetime,
) -> RestoreRequest:
    return RestoreRequest(
        id=restore_id,
        snapshot_id=snapshot_id,
        mode=mode,
        server_id=target.id,
        database=database,
        overwrite=overwrite,
        requested_at=now,
    )


def pending_restore(request: RestoreRequest) -> RestorePublic:
    """An accepted request the catalog has not recorded yet: pending, from the api's data."""
    return RestorePublic(
        id=request.id,
        snapshot_id=request.snapshot_id,
        mode=request.mode,
        server_id=request.server_id,
        database=request.database,
        overwrite=request.overwrite,
        status="pending",
        created_at=request.requested_at,
    )
