"""The api's servers and volumes tables, behind typed repositories (SQL in constants)."""

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg import Pool

from services.api.errors import ConflictError
from services.api.models import Server, Volume

SERVER_COLUMNS = (
    "id, name, type, host, port, username, database, password_sealed, tags, tls_mode, tls_ca, "
    "created_at"
)
INSERT_SERVER = (
    "INSERT INTO {schema}.servers (" + SERVER_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now()) RETURNING " + SERVER_COLUMNS
)
UPDATE_SERVER = (
    "UPDATE {schema}.servers SET name = $2, type = $3, host = $4, port = $5, username = $6, "
    "database = $7, password_sealed = $8, tags = $9, tls_mode = $10, tls_ca = $11 "
    "WHERE id = $1 RETURNING " + SERVER_COLUMNS
)
SELECT_SERVER = "SELECT " + SERVER_COLUMNS + " FROM {schema}.servers WHERE id = $1"
SELECT_SERVERS = "SELECT " + SERVER_COLUMNS + " FROM {schema}.servers ORDER BY name"
DELETE_SERVER = "DELETE FROM {schema}.servers WHERE id = $1 RETURNING id"

VOLUME_COLUMNS = "id, name, type, config, spec_sealed, created_at, quota_bytes, quota_action"
INSERT_VOLUME = (
    "INSERT INTO {schema}.volumes (" + VOLUME_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4::jsonb, $5, now(), $6, $7) RETURNING " + VOLUME_COLUMNS
)
UPDATE_VOLUME = (
    "UPDATE {schema}.volumes SET name = $2, type = $3, config = $4::jsonb, spec_sealed = $5, "
    "quota_bytes = $6, quota_action = $7 WHERE id = $1 RETURNING " + VOLUME_COLUMNS
)
SELECT_VOLUME = "SELECT " + VOLUME_COLUMNS + " FROM {schema}.volumes WHERE id = $1"
SELECT_VOLUMES = "SELECT " + VOLUME_COLUMNS + " FROM {schema}.volumes ORDER BY name"
DELETE_VOLUME = "DELETE FROM {schema}.volumes WHERE id = $1 RETURNING id"


class ServerRepository:
    """Registered database servers."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, server: Server) -> Server:
        """Store `server`; a name already taken is a ConflictError."""
        created = await self._write(INSERT_SERVER, server)
        if created is None:
            raise RuntimeError("INSERT ... RETURNING gave no row")
        return created

    async def update(self, server: Server) -> Server | None:
        """Replace the stored server of the same id; None when it is gone."""
        return await self._write(UPDATE_SERVER, server)

    async def _write(self, sql: str, server: Server) -> Server | None:
        try:
            row = await self._pool.fetchrow(
                sql.format(schema=self._schema),
                server.id,
                server.name,
                server.type,
                server.host,
                server.port,
                server.username,
                server.database,
                server.password_sealed,
                list(server.tags),
                server.tls_mode,
                server.tls_ca,
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"a server named {server.name!r} already exists") from None
        return None if row is None else Server.model_validate(dict(row))

    async def get(self, server_id: UUID) -> Server | None:
        row = await self._pool.fetchrow(SELECT_SERVER.format(schema=self._schema), server_id)
        return None if row is None else Server.model_validate(dict(row))

    async def list(self) -> list[Server]:
        rows = await self._pool.fetch(SELECT_SERVERS.format(schema=self._schema))
        return [Server.model_validate(dict(row)) for row in rows]

    async def delete(self, server_id: UUID) -> bool:
        """Remove the server (and its accepted requests); False when there was none."""
        found = await self._pool.fetchval(DELETE_SERVER.format(schema=self._schema), server_id)
        return found is not None


class VolumeRepository:
    """Registered storage volumes."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, volume: Volume) -> Volume:
        """Store `volume`; a name already taken is a ConflictError."""
        created = await self._write(INSERT_VOLUME, volume)
        if created is None:
            raise RuntimeError("INSERT ... RETURNING gave no row")
        return created

    async def update(self, volume: Volume) -> Volume | None:
        """Replace the stored volume of the same id; None when it is gone."""
        return await self._write(UPDATE_VOLUME, volume)

    async def _write(self, sql: str, volume: Volume) -> Volume | None:
        try:
            row = await self._pool.fetchrow(
                sql.format(schema=self._schema),
                volume.id,
                volume.name,
                volume.type,
                json.dumps(volume.config),
                volume.spec_sealed,
                volume.quota_bytes,
                volume.quota_action,
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"a volume named {volume.name!r} already exists") from None
        return None if row is None else _volume(row)

    async def get(self, volume_id: UUID) -> Volume | None:
        row = await self._pool.fetchrow(SELECT_VOLUME.format(schema=self._schema), volume_id)
        return None if row is None else _volume(row)

    async def list(self) -> list[Volume]:
        rows = await self._pool.fetch(SELECT_VOLUMES.format(schema=self._schema))
        return [_volume(row) for row in rows]

    async def delete(self, volume_id: UUID) -> bool:
        """Remove the volume (and its accepted requests); False when there was none."""
        found = await self._pool.fetchval(DELETE_VOLUME.format(schema=self._schema), volume_id)
        return found is not None


def _volume(row: Any) -> Volume:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    return Volume.model_validate(data)


SELECT_SEALED = "SELECT id, {column} AS sealed FROM {schema}.{table} FOR UPDATE"
UPDATE_SEALED = "UPDATE {schema}.{table} SET {column} = $2 WHERE id = $1"
SEALED_COLUMNS = {"servers": "password_sealed", "volumes": "spec_sealed"}
"""Every stored secret: the table and its sealed column."""


async def reseal_all(pool: Pool, schema: str, reseal: Callable[[str], str]) -> int:
    """Replace every stored secret by `reseal(secret)` in ONE transaction; how many there were.

    Rows are locked while it runs, so a concurrent change waits instead of being lost.
    """
    count = 0
    async with pool.acquire() as conn, conn.transaction():
        for table, column in SEALED_COLUMNS.items():
            rows = await conn.fetch(SELECT_SEALED.format(schema=schema, table=table, column=column))
            for row in rows:
                await conn.execute(
                    UPDATE_SEALED.format(schema=schema, table=table, column=column),
                    row["id"],
                    reseal(row["sealed"]),
                )
                count += 1
    return count
