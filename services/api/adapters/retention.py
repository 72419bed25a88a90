"""What retention reads of the backup configurations, and the claim of the automatic pass.

Only the columns retention needs are read here (the configurations themselves are kept by
services/api/adapters/configs.py), so pruning does not depend on the rest of their shape.
"""

import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from asyncpg import Pool

from services.api.retention import RetentionPolicy

CONFIG_COLUMNS = "id, name, retention, timezone, enabled"
SELECT_CONFIG = "SELECT " + CONFIG_COLUMNS + " FROM {schema}.backup_configs WHERE id = $1"
SELECT_ENABLED = (
    "SELECT " + CONFIG_COLUMNS + " FROM {schema}.backup_configs WHERE enabled ORDER BY name"
)
CLAIM_RUN = """
INSERT INTO {schema}.retention_runs AS runs (id, last_run_at) VALUES (true, now())
ON CONFLICT (id) DO UPDATE SET last_run_at = now()
WHERE runs.last_run_at <= now() - $1::interval
RETURNING last_run_at
"""
SELECT_DELETING = """
SELECT DISTINCT snapshot_id FROM {schema}.outbox
WHERE routing_key = 'snapshot.delete_requested' AND snapshot_id = ANY($1::uuid[])
  AND created_at > now() - $2::interval
"""
TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
UNLOCK = "SELECT pg_advisory_unlock($1)"


@dataclass(frozen=True)
class RetentionConfig:
    """A backup configuration as retention sees it."""

    id: UUID
    name: str
    policy: RetentionPolicy
    timezone: str
    enabled: bool


def pass_lock_key(schema: str) -> int:
    """The advisory lock key of the automatic pass: one per api schema (signed 32-bit)."""
    return zlib.crc32(f"{schema}.retention".encode()) - 2**31


class RetentionConfigs:
    """Reads backup configurations for retention; claims the automatic pass."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def get(self, config_id: UUID) -> RetentionConfig | None:
        row = await self._pool.fetchrow(SELECT_CONFIG.format(schema=self._schema), config_id)
        return None if row is None else _config(row)

    async def enabled(self) -> list[RetentionConfig]:
        rows = await self._pool.fetch(SELECT_ENABLED.format(schema=self._schema))
        return [_config(row) for row in rows]

    async def deleting(self, snapshot_ids: list[UUID], *, within: timedelta) -> set[UUID]:
        """Snapshots whose deletion the api requested within `within` (its outbox says so):
        a later pass does not ask again while the first request is carried out."""
        rows = await self._pool.fetch(
            SELECT_DELETING.format(schema=self._schema), snapshot_ids, within
        )
        return {row["snapshot_id"] for row in rows}

    @asynccontextmanager
    async def pass_claim(self, *, every: timedelta) -> AsyncIterator[bool]:
        """True while this replica may run the automatic pass: it holds the pass's advisory
        lock (on one connection kept for the pass) and nobody ran a pass within `every`.

        The claim is made under the lock, so two replicas never claim together.
        """
        key = pass_lock_key(self._schema)
        async with self._pool.acquire() as conn:
            if not await conn.fetchval(TRY_LOCK, key):
                yield False
                return
            try:
                claimed = await conn.fetchval(CLAIM_RUN.format(schema=self._schema), every)
                yield claimed is not None
            finally:
                await conn.fetchval(UNLOCK, key)


def _config(row: Any) -> RetentionConfig:
    retention = row["retention"]
    if isinstance(retention, str):
        retention = json.loads(retention)
    return RetentionConfig(
        id=row["id"],
        name=row["name"],
        policy=RetentionPolicy.model_validate(retention or {}),
        timezone=row["timezone"],
        enabled=row["enabled"],
    )
