"""Turning an accepted backup request into its BackupRequested events.

Pure: given the server, the volumes, the databases and the keys, build one event per
database, with the connection and each volume spec sealed for the dumper and uploader. The
first volume is the event's `destination`; the others are its `copies`: the dump
runs once and the uploader writes the same artifact, under the same key, to every volume.
"""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

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
    volumes: Sequence[Volume],
    databases: list[str],
    *,
    compression: Compression,
    now: datetime,
    vault: Vault,
    sealer: Sealer,
    config_id: UUID | None = None,
    encrypted: bool = False,
    compression_level: int | None = None,
    connection: str | None = None,
) -> list[tuple[BackupRequest, BackupRequested]]:
    """One request row and its event per database; secrets only inside sealed tokens.

    `connection` is the server's sealed connection when the caller holds it already, so the
    password is unsealed once per request.

    The request row names the primary (first) volume; the event carries every volume.
    """
    if not volumes:
        msg = "a backup needs at least one volume"
        raise ValueError(msg)
    if connection is None:
        connection = sealed_connection(server, vault=vault, sealer=sealer)
    tokens = [
        (volume.id, sealer.seal(_volume_spec.validate_python(vault.unseal(volume.spec_sealed))))
        for volume in volumes
    ]
    planned = []
    for database in databases:
        snapshot_id = uuid4()
        request = BackupRequest(
            id=snapshot_id,
            server_id=server.id,
            database=database,
            volume_id=volumes[0].id,
            compression=compression,
            requested_at=now,
        )
        key = artifact_key(
            server_name=server.name,
            database=database,
            requested_at=now,
            snapshot_id=snapshot_id,
            compression=compression,
            encrypted=encrypted,
        )
        destinations = [
            Destination(
                volume_id=volume_id, volume=token, artifact_key=key, compression=compression
            )
            for volume_id, token in tokens
        ]
        event = BackupRequested(
            snapshot_id=snapshot_id,
            server_id=server.id,
            server_name=server.name,
            server_type=server.type,
            database=database,
            connection=connection,
            destination=destinations[0],
            copies=destinations[1:],
            requested_at=now,
            config_id=config_id,
            encrypted=encrypted,
            compression_level=compression_level,
        )
        planned.append((request, event))
    return planned
