"""Handle an event once: its id is recorded in the same transaction as its effect.

A redelivered event whose id is already recorded is skipped (and then acked by the caller).
Every service that owns tables has a `processed_events` table in its schema (migration 0001).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from shared.database import Conn, Pool

RECORD = """
INSERT INTO {schema}.processed_events (event_id) VALUES ($1)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
SEEN = "SELECT 1 FROM {schema}.processed_events WHERE event_id = $1"


@asynccontextmanager
async def handle_once(pool: Pool, *, schema: str, event_id: UUID) -> AsyncIterator[Conn | None]:
    """Yield a connection in a transaction that records `event_id`, or None if already handled.

    The effect written on the yielded connection commits together with the record, so a
    crash between the two is impossible; a redelivery then yields None.
    """
    async with pool.acquire() as conn, conn.transaction():
        first = await conn.fetchval(RECORD.format(schema=schema), event_id)
        yield conn if first is not None else None


async def was_handled(pool: Pool, *, schema: str, event_id: UUID) -> bool:
    """True when `event_id` was recorded by an earlier handling."""
    async with pool.acquire() as conn:
        return await conn.fetchval(SEEN.format(schema=schema), event_id) is not None


async def mark_handled(conn: Conn, *, schema: str, event_id: UUID) -> None:
    """Record `event_id` after an effect outside the database (uploads, dumps) is durable."""
    await conn.execute(RECORD.format(schema=schema), event_id)
