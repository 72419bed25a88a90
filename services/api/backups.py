"""Turning an accepted backup request into its BackupRequested events (interfaces.md #1).

Pure: given the server, the volume, the databases and the keys, build one event per
database, with the connection and the volume spec sealed for the dumper and uploader.
"""

from datetime import datetime
from uuid import uuid4

from pydantic import SecretStr, TypeAdapter

from services.api.models import BackupRequest, Server, Volume
from services.api.vault import Vault
from shared.events import BackupRequested, Compression, Destination
from shared.naming import artifact_key
from shared.sealing import Sealer
from shared.specs import ConnectionSpec, VolumeSpec

SYSTEM_DATABASES = frozenset(
    {
        "template0",
        "template1",
        "postgres",
        "mysql",
        "sys",
        "information_schema",
        "performance_schema",
    }
)
"""Never backed up by `database: null` (the dumper leaves them out too)."""

_volume_spec: TypeAdapter[VolumeSpec] = TypeAdapter(VolumeSpec)


def connection_spec(server: Server, *, vault: Vault) -> ConnectionSpec:
    """The server's connection with its password opened from the credentials vault."""
    password = vault.unseal(server.password_sealed)["password"]
    return ConnectionSpec(
        type=server.type,
        host=server.host,
        port=server.port,
        username=server.username,
        password=SecretStr(password),
        tls_mode=server.tls_mode,
        tls_ca=server.tls_ca,
    )


def sealed_connection(server: Server, *, vault: Vault, sealer: Sealer) -> str:
    """The connection as the dumper gets it: sealed with the seal key."""
    return sealer.seal(connection_spec(server, vault=vault))


def user_databases(databases: list[str]) -> list[str]:
    """The databases worth a snapshot, each once, in a stable order."""
    return sorted({name for name in databases if name not in SYSTEM_DATABASES})


def plan_backups(
    server: Server,
    volume: Volume,
    databases: list[str],
    *,
    compression: Compression,
    now: datetime,
    vault: Vault,
    sealer: Sealer,
) -> list[tuple[BackupRequest, BackupRequested]]:
    """One request row and its event per database; secrets only inside sealed tokens."""
    connection = sealed_connection(server, vault=vault, sealer=sealer)
    volume_token = sealer.seal(_volume_spec.validate_python(vault.unseal(volume.spec_sealed)))
    planned = []
    for database in databases:
        snapshot_id = uuid4()
        request = BackupRequest(
            id=snapshot_id,
            server_id=server.id,
            database=database,
            volume_id=volume.id,
            compression=compression,
            requested_at=now,
        )
        key = artifact_key(
            server_name=server.name,
            database=database,
            requested_at=now,
            snapshot_id=snapshot_id,
            compression=compression,
        )
        event = BackupRequested(
            snapshot_id=snapshot_id,
            server_id=server.id,
            server_name=server.name,
            server_type=server.type,
            database=database,
            connection=connection,
            destination=Destination(
                volume_id=volume.id, volume=volume_token, artifact_key=key, compression=compression
            ),
            requested_at=now,
        )
        planned.append((request, event))
    return planned
