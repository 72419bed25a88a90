"""The api's servers and volumes tables, behind typed repositories (SQL in constants)."""

import json
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg import Pool

from services.api.errors import ConflictError
from services.api.models import Server, Volume

SERVER_COLUMNS = "id, name, type, host, port, username, database, password_sealed, created_at"
INSERT_SERVER = (
    "INSERT INTO {schema}.servers (" + SERVER_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) RETURNING " + SERVER_COLUMNS
)
SELECT_SERVER = "SELECT " + SERVER_COLUMNS + " FROM {schema}.servers WHERE id = $1"
SELECT_SERVERS = "SELECT " + SERVER_COLUMNS + " FROM {schema}.servers ORDER BY name"

VOLUME_COLUMNS = "id, name, type, config, spec_sealed, created_at"
INSERT_VOLUME = (
    "INSERT INTO {schema}.volumes (" + VOLUME_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4::jsonb, $5, now()) RETURNING " + VOLUME_COLUMNS
)
SELECT_VOLUME = "SELECT " + VOLUME_COLUMNS + " FROM {schema}.volumes WHERE id = $1"
SELECT_VOLUMES = "SELECT " + VOLUME_COLUMNS + " FROM {schema}.volumes ORDER BY name"


class ServerRepository:
    """Registered database servers."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, server: Server) -> Server:
        """Store `server`; a name already taken is a ConflictError."""
        try:
            row = await self._pool.fetchrow(
                INSERT_SERVER.format(schema=self._schema),
                server.id,
                server.name,
                server.type,
                server.host,
                server.port,
                server.username,
                server.database,
                server.password_sealed,
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"a server named {server.name!r} already exists") from None
        return Server.model_validate(dict(row))  # type: ignore[arg-type]

    async def get(self, server_id: UUID) -> Server | None:
        row = await self._pool.fetchrow(SELECT_SERVER.format(schema=self._schema), server_id)
        return None if row is None else Server.model_validate(dict(row))

    async def list(self) -> list[Server]:
        rows = await self._pool.fetch(SELECT_SERVERS.format(schema=self._schema))
        return [Server.model_validate(dict(row)) for row in rows]


class VolumeRepository:
    """Registered storage volumes."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, volume: Volume) -> Volume:
        """Store `volume`; a name already taken is a ConflictError."""
        try:
            row = await self._pool.fetchrow(
                INSERT_VOLUME.format(schema=self._schema),
                volume.id,
                volume.name,
                volume.type,
                json.dumps(volume.config),
                volume.spec_sealed,
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"a volume named {volume.name!r} already exists") from None
        return _volume(row)

    async def get(self, volume_id: UUID) -> Volume | None:
        row = await self._pool.fetchrow(SELECT_VOLUME.format(schema=self._schema), volume_id)
        return None if row is None else _volume(row)

    async def list(self) -> list[Volume]:
        rows = await self._pool.fetch(SELECT_VOLUMES.format(schema=self._schema))
        return [_volume(row) for row in rows]


def _volume(row: Any) -> Volume:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    return Volume.model_validate(data)
