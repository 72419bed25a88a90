"""Accepted restore requests, written in one transaction with their event in the outbox."""

from datetime import datetime
from uuid import UUID

from asyncpg import Pool

from services.api.adapters.outbox import add_to_outbox
from services.api.models import RestoreRequest
from shared.events import RestoreRequested

COLUMNS = "id, snapshot_id, mode, server_id, database, overwrite, requested_at"
INSERT = (
    "INSERT INTO {schema}.restores_requested (" + COLUMNS + ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
SELECT_ONE = "SELECT " + COLUMNS + " FROM {schema}.restores_requested WHERE id = $1"
SELECT_RECENT = (
    "SELECT " + COLUMNS + " FROM {schema}.restores_requested "
    "WHERE requested_at >= $1 "
    "AND ($2::uuid IS NULL OR server_id = $2) AND ($3::text IS NULL OR database = $3) "
    "AND ($4::uuid IS NULL OR snapshot_id = $4) "
    "ORDER BY requested_at DESC, id DESC"
)


class RestoreRequests:
    """The `restores_requested` table and the outbox, written together."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def accept(self, request: RestoreRequest, event: RestoreRequested) -> None:
        """Store the request row and its event in one transaction: both or neither."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                INSERT.format(schema=self._schema),
                request.id,
                request.snapshot_id,
                request.mode,
                request.server_id,
                request.database,
                request.overwrite,
                request.requested_at,
            )
            await add_to_outbox(conn, self._schema, event)

    async def get(self, restore_id: UUID) -> RestoreRequest | None:
        row = await self._pool.fetchrow(SELECT_ONE.format(schema=self._schema), restore_id)
        return None if row is None else RestoreRequest.model_validate(dict(row))

    async def since(
        self,
        when: datetime,
        *,
        server_id: UUID | None = None,
        database: str | None = None,
        snapshot_id: UUID | None = None,
    ) -> list[RestoreRequest]:
        """Requests accepted at or after `when`, newest first, optionally of one target or
        one snapshot."""
        rows = await self._pool.fetch(
            SELECT_RECENT.format(schema=self._schema), when, server_id, database, snapshot_id
        )
        return [RestoreRequest.model_validate(dict(row)) for row in rows]
