"""The dumper's own table of cancelled snapshots (SQL in module constants)."""

from uuid import UUID

from asyncpg import Pool

RECORD_CANCEL = """
INSERT INTO {schema}.cancelled_snapshots (snapshot_id, reason) VALUES ($1, $2)
ON CONFLICT (snapshot_id) DO NOTHING
"""
CANCEL_REASON = "SELECT reason FROM {schema}.cancelled_snapshots WHERE snapshot_id = $1"


async def record_cancel(pool: Pool, schema: str, snapshot_id: UUID, reason: str) -> None:
    """Remember that the snapshot was cancelled (idempotent)."""
    async with pool.acquire() as conn:
        await conn.execute(RECORD_CANCEL.format(schema=schema), snapshot_id, reason)


async def cancel_reason(pool: Pool, schema: str, snapshot_id: UUID) -> str | None:
    """Why the snapshot was cancelled, or None when it was not."""
    async with pool.acquire() as conn:
        reason: str | None = await conn.fetchval(CANCEL_REASON.format(schema=schema), snapshot_id)
        return reason
