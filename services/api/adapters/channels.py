"""The api's notification tables: channels, and deliveries as a durable queue."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from asyncpg import Pool, UniqueViolationError

from services.api.errors import ConflictError
from shared.database import Conn

CHANNEL_COLUMNS = "id, name, type, config, secrets_sealed, created_at"
INSERT_CHANNEL = (
    "INSERT INTO {schema}.notification_channels (" + CHANNEL_COLUMNS + ") "
    "VALUES ($1, $2, $3, $4::jsonb, $5, $6)"
)
SELECT_CHANNELS = "SELECT " + CHANNEL_COLUMNS + " FROM {schema}.notification_channels ORDER BY name"
SELECT_CHANNEL = "SELECT " + CHANNEL_COLUMNS + " FROM {schema}.notification_channels WHERE id = $1"
UPDATE_CHANNEL = """
UPDATE {schema}.notification_channels SET name = $2, config = $3::jsonb, secrets_sealed = $4
WHERE id = $1
"""
DELETE_CHANNEL = "DELETE FROM {schema}.notification_channels WHERE id = $1"

ENQUEUE = """
INSERT INTO {schema}.notification_deliveries (channel_id, kind, dedupe_key, payload)
SELECT c.id, $2, $3 || ':' || c.id::text, $4::jsonb
FROM {schema}.notification_channels c WHERE c.id = ANY($1::uuid[])
ON CONFLICT (dedupe_key) DO NOTHING
"""
CLAIM_DUE = """
UPDATE {schema}.notification_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + $2 * interval '1 second'
FROM {schema}.notification_channels c
WHERE c.id = d.channel_id AND d.id IN (
    SELECT id FROM {schema}.notification_deliveries
    WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING d.id, d.kind, d.payload, d.attempts, c.id AS channel_id, c.name, c.type, c.config,
    c.secrets_sealed, c.created_at
"""
MARK_DELIVERED = """
UPDATE {schema}.notification_deliveries SET delivered_at = now(), last_error = NULL WHERE id = $1
"""
MARK_FAILED = """
UPDATE {schema}.notification_deliveries
SET last_error = $2, next_attempt_at = $3,
    given_up_at = CASE WHEN $4 THEN now() ELSE NULL END
WHERE id = $1
"""
SELECT_DELIVERIES = """
SELECT id, kind, payload, attempts, next_attempt_at, delivered_at, given_up_at, last_error,
    created_at
FROM {schema}.notification_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2
"""


@dataclass(frozen=True)
class Channel:
    """A stored channel: its public config, and its secrets still sealed."""

    id: UUID
    name: str
    type: str
    config: dict[str, Any]
    secrets_sealed: str
    created_at: datetime


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with its channel, ready to be sent."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    channel: Channel


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _channel(row: Any) -> Channel:
    return Channel(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        config=_json(row["config"]),
        secrets_sealed=row["secrets_sealed"],
        created_at=row["created_at"],
    )


class ChannelRepository:
    """CRUD on notification_channels."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, channel: Channel) -> Channel:
        try:
            await self._pool.execute(
                INSERT_CHANNEL.format(schema=self._schema),
                channel.id,
                channel.name,
                channel.type,
                json.dumps(channel.config),
                channel.secrets_sealed,
                channel.created_at,
            )
        except UniqueViolationError:
            raise ConflictError(f"a channel named {channel.name!r} already exists") from None
        return channel

    async def by_name(self) -> list[Channel]:
        rows = await self._pool.fetch(SELECT_CHANNELS.format(schema=self._schema))
        return [_channel(row) for row in rows]

    async def get(self, channel_id: UUID) -> Channel | None:
        row = await self._pool.fetchrow(SELECT_CHANNEL.format(schema=self._schema), channel_id)
        return None if row is None else _channel(row)

    async def update(self, channel: Channel) -> None:
        try:
            await self._pool.execute(
                UPDATE_CHANNEL.format(schema=self._schema),
                channel.id,
                channel.name,
                json.dumps(channel.config),
                channel.secrets_sealed,
            )
        except UniqueViolationError:
            raise ConflictError(f"a channel named {channel.name!r} already exists") from None

    async def delete(self, channel_id: UUID) -> bool:
        done = await self._pool.execute(DELETE_CHANNEL.format(schema=self._schema), channel_id)
        return done.endswith(" 1")

    async def deliveries(self, channel_id: UUID, *, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            SELECT_DELIVERIES.format(schema=self._schema), channel_id, limit
        )
        return [{**dict(row), "payload": _json(row["payload"])} for row in rows]


async def enqueue(
    conn: Conn,
    schema: str,
    *,
    channel_ids: list[UUID],
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
) -> int:
    """Queue one delivery per existing channel; a repeated `dedupe_key` adds nothing."""
    if not channel_ids:
        return 0
    done = await conn.execute(
        ENQUEUE.format(schema=schema), channel_ids, kind, dedupe_key, json.dumps(payload)
    )
    return int(done.rsplit(" ", 1)[-1])


class DeliveryQueue:
    """The dispatcher's side: claim due rows, then record how each send went."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def claim(self, *, limit: int, lease: float) -> list[DueDelivery]:
        """Claim up to `limit` due deliveries for `lease` seconds (SKIP LOCKED across replicas)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(CLAIM_DUE.format(schema=self._schema), limit, lease)
        return [
            DueDelivery(
                id=row["id"],
                kind=row["kind"],
                payload=_json(row["payload"]),
                attempts=row["attempts"],
                channel=_channel(row),
            )
            for row in rows
        ]

    async def delivered(self, delivery_id: int) -> None:
        await self._pool.execute(MARK_DELIVERED.format(schema=self._schema), delivery_id)

    async def failed(
        self, delivery_id: int, error: str, *, retry_in: float, give_up: bool, now: datetime
    ) -> None:
        await self._pool.execute(
            MARK_FAILED.format(schema=self._schema),
            delivery_id,
            error[:500],
            now + timedelta(seconds=retry_in),
            give_up,
        )
