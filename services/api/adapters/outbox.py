"""Accepted backup requests and the transactional outbox every api event leaves from.

A request row and its event row are written in ONE transaction, so an accepted request is
never lost when the broker is down; the relay publishes unsent rows later. Deletions and
cancellations go through the same outbox.
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Pool

from services.api.models import BackupRequest
from shared.database import Conn
from shared.events import EVENTS_BY_KEY, Event

REQUEST_COLUMNS = "id, server_id, database, volume_id, compression, requested_at, config_id"
INSERT_REQUEST = (
    "INSERT INTO {schema}.snapshots_requested (" + REQUEST_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
INSERT_OUTBOX = """
INSERT INTO {schema}.outbox (event_id, snapshot_id, routing_key, payload)
VALUES ($1, $2, $3, $4::jsonb)
"""
SELECT_REQUEST = "SELECT " + REQUEST_COLUMNS + " FROM {schema}.snapshots_requested WHERE id = $1"
SELECT_RECENT = (
    "SELECT " + REQUEST_COLUMNS + " FROM {schema}.snapshots_requested "
    "WHERE requested_at >= $1 AND ($2::uuid IS NULL OR server_id = $2) "
    "ORDER BY requested_at DESC, id DESC LIMIT $3"
)
CLAIM_UNSENT = """
SELECT id, routing_key, payload FROM {schema}.outbox
WHERE sent_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_SENT = "UPDATE {schema}.outbox SET sent_at = now() WHERE id = ANY($1::bigint[])"
COUNT_UNSENT = "SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"

Publish = Callable[[Event], Awaitable[None]]


def serialize(event: Event) -> str:
    """The outbox payload of an event: its JSON, secrets only inside sealed tokens."""
    return json.dumps(event.model_dump(mode="json"))


async def add_to_outbox(executor: Conn | Pool, schema: str, event: Event) -> None:
    """Write `event`'s outbox row on `executor`: a connection in the caller's transaction, so
    the row commits with the caller's own rows, or the pool for an event on its own."""
    await executor.execute(
        INSERT_OUTBOX.format(schema=schema),
        event.event_id,
        event.snapshot_id,
        type(event).routing_key,
        serialize(event),
    )


def deserialize(routing_key: str, payload: str | dict[str, Any]) -> Event:
    data = json.loads(payload) if isinstance(payload, str) else payload
    return EVENTS_BY_KEY[routing_key].model_validate(data)


class BackupRequests:
    """The `snapshots_requested` table and the outbox, written together."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def accept(self, planned: Sequence[tuple[BackupRequest, Event]]) -> None:
        """Store every request row and its event in one transaction: all or nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self.write(conn, planned)

    async def write(self, conn: Conn, planned: Sequence[tuple[BackupRequest, Event]]) -> None:
        """Store the rows on `conn`, inside the caller's transaction (a scheduled firing
        writes its duplicate-check key in the same one)."""
        for request, event in planned:
            await conn.execute(
                INSERT_REQUEST.format(schema=self._schema),
                request.id,
                request.server_id,
                request.database,
                request.volume_id,
                request.compression,
                request.requested_at,
                request.config_id,
            )
            await add_to_outbox(conn, self._schema, event)

    async def get(self, snapshot_id: UUID) -> BackupRequest | None:
        row = await self._pool.fetchrow(SELECT_REQUEST.format(schema=self._schema), snapshot_id)
        return None if row is None else BackupRequest.model_validate(dict(row))

    async def since(
        self, when: datetime, *, server_id: UUID | None, limit: int | None = None
    ) -> list[BackupRequest]:
        """Requests accepted at or after `when`, newest first (the newest `limit` of them)."""
        query = SELECT_RECENT.format(schema=self._schema)
        rows = await self._pool.fetch(query, when, server_id, limit)
        return [BackupRequest.model_validate(dict(row)) for row in rows]


class Outbox:
    """Any event to publish reliably, and the relay's side of the outbox."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, event: Event) -> None:
        """Store `event` for the relay to publish (with confirms, retried while it cannot)."""
        await add_to_outbox(self._pool, self._schema, event)

    async def relay(self, publish: Publish, *, limit: int) -> tuple[int, Exception | None]:
        """Publish up to `limit` unsent events in order and mark those confirmed as sent.

        Rows are locked with SKIP LOCKED, so api replicas relay disjoint batches. The first
        failed publish ends the batch; what was confirmed before it is still marked sent.
        Returns how many were sent, and the error that stopped the batch, if any.
        """
        sent: list[int] = []
        error: Exception | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(CLAIM_UNSENT.format(schema=self._schema), limit)
            for row in rows:
                try:
                    await publish(deserialize(row["routing_key"], row["payload"]))
                except Exception as exc:  # the broker's failures are many; all mean "later"
                    error = exc
                    break
                sent.append(row["id"])
            if sent:
                await conn.execute(MARK_SENT.format(schema=self._schema), sent)
        return len(sent), error

    async def unsent(self) -> int:
        count: int = await self._pool.fetchval(COUNT_UNSENT.format(schema=self._schema))
        return count
