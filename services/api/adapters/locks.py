"""Snapshot locks as the api knows them (migration 0007), written with their outbox event."""

from collections.abc import Iterable
from uuid import UUID

from asyncpg import Pool

from services.api.adapters.outbox import add_to_outbox
from shared.events import SnapshotLockChanged

UPSERT_LOCK = """
INSERT INTO {schema}.snapshot_locks (snapshot_id, locked, changed_at) VALUES ($1, $2, $3)
ON CONFLICT (snapshot_id) DO UPDATE SET locked = EXCLUDED.locked, changed_at = EXCLUDED.changed_at
"""
SELECT_LOCKS = (
    "SELECT snapshot_id, locked FROM {schema}.snapshot_locks WHERE snapshot_id = ANY($1::uuid[])"
)


class SnapshotLocks:
    """The `snapshot_locks` table, kept in step with the SnapshotLockChanged events."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def change(self, event: SnapshotLockChanged) -> None:
        """Record the lock and queue its event in ONE transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                UPSERT_LOCK.format(schema=self._schema),
                event.snapshot_id,
                event.locked,
                event.occurred_at,
            )
            await add_to_outbox(conn, self._schema, event)

    async def known(self, snapshot_ids: Iterable[UUID]) -> dict[UUID, bool]:
        """The api's last word on each snapshot's lock; snapshots never (un)locked are absent."""
        rows = await self._pool.fetch(SELECT_LOCKS.format(schema=self._schema), list(snapshot_ids))
        return {row["snapshot_id"]: row["locked"] for row in rows}

    async def is_locked(self, snapshot_id: UUID, *, catalog_says: bool) -> bool:
        """Locked by the api's own record when it has one, else by the catalog's."""
        return (await self.known([snapshot_id])).get(snapshot_id, catalog_says)
