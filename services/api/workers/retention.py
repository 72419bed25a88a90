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
from uuid import UUID

from services.api.adapters.retention import RetentionConfigs
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
        configs: RetentionConfigs,
        tools: Callable[[], PruneTools],
        *,
        interval: float,
    ) -> None:
        self._configs = configs
        self._tools = tools
        self._interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:  # the loop's boundary: a failed pass is retried next interval
                log.exception("retention_pass_failed")

    async def tick(self) -> list[UUID] | None:
        """The snapshots whose deletion this pass requested; None when it did not run here."""
        every = timedelta(seconds=self._interval * SLACK)
        async with self._configs.pass_claim(every=every) as claimed:
            if not claimed:
                return None
            return await self._prune_all()

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
