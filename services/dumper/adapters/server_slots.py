"""Per-server dump slots shared by every dumper replica: PostgreSQL advisory locks.

A slot is a session-level advisory lock on the dumper's own database, keyed by the dumper's
schema and the server's id, held on one pooled connection for as long as the dump runs. The
lock needs no table and no expiry: if a replica dies, its connection closes and PostgreSQL
frees the slot at once: a per-server concurrency limit stops ten replicas from dumping
the same database server at once.
"""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from uuid import UUID

from asyncpg import InterfaceError, InternalClientError, Pool, PostgresError
from asyncpg.pool import PoolConnectionProxy

from shared.logging import get_logger

log = get_logger(__name__)

TRY_LOCK = "SELECT pg_try_advisory_lock($1::int4, $2::int4)"
UNLOCK = "SELECT pg_advisory_unlock($1::int4, $2::int4)"


def server_key(schema: str, server_id: UUID) -> int:
    """A signed 32-bit key for (schema, server): stacks sharing a database never collide."""
    digest = hashlib.blake2b(f"{schema}/{server_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _unlock(conn: "PoolConnectionProxy[Any]", key: int, slot: int) -> None:
    """Free the slot. If the connection died meanwhile (a database restart), PostgreSQL has
    freed it already: the dump that just ended must not fail, nor run again, for that."""
    try:
        await conn.fetchval(UNLOCK, key, slot)
    # InternalClientError: the termination reached the idle connection first and left its
    # protocol in a failed state ("cannot switch to state ...").
    except (PostgresError, InterfaceError, InternalClientError, OSError) as exc:
        log.warning("server_slot_unlock_failed", error=type(exc).__name__)
        # Dead: the pool must drop it, not reset it (a reset would raise again). A connection
        # the pool has already taken back refuses terminate() the same way.
        with suppress(InterfaceError):
            conn.terminate()


class ServerSlots:
    """At most `limit` dumps of one server at a time, across all replicas."""

    def __init__(self, pool: Pool, schema: str, *, limit: int) -> None:
        self.pool = pool
        self.schema = schema
        self.limit = limit

    @asynccontextmanager
    async def claim(self, server_id: UUID) -> AsyncIterator[int | None]:
        """Yields the slot number held for the block, or None when every slot is taken."""
        key = server_key(self.schema, server_id)
        async with self.pool.acquire() as conn:
            for slot in range(self.limit):
                if await conn.fetchval(TRY_LOCK, key, slot):
                    try:
                        yield slot
                    finally:
                        await _unlock(conn, key, slot)
                    return
            yield None
