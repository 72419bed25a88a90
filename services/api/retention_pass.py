"""The automatic retention pass: every API_RETENTION_INTERVAL seconds, prune every enabled
configuration, exactly once across api replicas.

A replica runs the pass only while holding a PostgreSQL advisory lock (session level, on one
connection kept for the pass), and only when the `retention_runs` row says nobody ran one
within the interval: a replica that gets the lock just after another released it does not
run a second pass.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from asyncpg import Pool

from services.api.adapters.db import VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import Outbox
from services.api.adapters.retention import TRY_LOCK, UNLOCK, RetentionConfigs, pass_lock_key
from services.api.usecases.pruning import PruneTools, delete_pruned, plan_pruning
from shared.events import utc_now
from shared.logging import get_logger

log = get_logger(__name__)
SLACK = 0.9
"""A pass is due after 90% of the interval, so one replica's own ticks are never skipped."""


class RetentionPass:
    """Runs the pass on a timer; `tick()` runs one pass if this replica may."""

    def __init__(
        self,
        pool: Pool,
        schema: str,
        tools: Callable[[], PruneTools],
        *,
        interval: float,
    ) -> None:
        self._pool = pool
        self._configs = RetentionConfigs(pool, schema)
        self._tools = tools
        self._interval = interval
        self._key = pass_lock_key(schema)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:  # the loop's boundary: a failed pass is retried next interval
                log.exception("retention_pass_failed")

    async def tick(self) -> list[UUID] | None:
        """The snapshots whose deletion this pass requested; None when it did not run here."""
        async with self._pool.acquire() as conn:
            if not await conn.fetchval(TRY_LOCK, self._key):
                return None
            try:
                every = timedelta(seconds=self._interval * SLACK)
                if not await self._configs.try_claim_pass(conn, every=every):
                    return None
                return await self._prune_all()
            finally:
                await conn.fetchval(UNLOCK, self._key)

    async def _prune_all(self) -> list[UUID]:
        pruned: list[UUID] = []
        configs = [c for c in await self._configs.enabled() if not c.policy.empty]
        if configs:  # the tools only when there is something to prune
            tools = self._tools()
            for config in configs:
                plan = await plan_pruning(config, tools, now=utc_now())
                pruned += await delete_pruned(plan, tools)
        log.info("retention_pass_done", pruned=len(pruned))
        return pruned


def start_retention_pass(app: Any) -> list[asyncio.Task[None]]:
    """The pass's task for the api's lifespan; none when API_RETENTION_INTERVAL is 0."""
    settings = app.state.settings
    if not settings.retention_interval:
        return []
    runtime, schema = app.state.runtime, settings.schema_name

    def tools() -> PruneTools:
        pool = runtime.pool
        return PruneTools(
            link=app.state.link,
            locks=SnapshotLocks(pool, schema),
            volumes=VolumeRepository(pool, schema),
            keys=app.state.keys,
            outbox=Outbox(pool, schema),
            relay=app.state.relay,
            configs=RetentionConfigs(pool, schema),
        )

    loop = RetentionPass(runtime.pool, schema, tools, interval=settings.retention_interval)
    app.state.retention_pass = loop
    return [asyncio.create_task(loop.run(), name="retention-pass")]
