"""The periodic sweep that fails snapshots and restores nothing moves any more: nothing stays
stuck."""

import asyncio
from collections.abc import Awaitable, Callable

from services.catalog.announcer import announce
from services.catalog.restores.records import sweep_restores
from services.catalog.settings import CatalogSettings
from services.catalog.snapshots.records import sweep
from shared.events import utc_now
from shared.logging import get_logger
from shared.service import Runtime

log = get_logger(__name__)

StartHook = Callable[[Runtime], Awaitable[None]]


async def run_sweeper(runtime: Runtime, settings: CatalogSettings) -> None:
    """Sweep every `sweep_interval` seconds until cancelled at shutdown."""
    while True:
        try:
            changes = await sweep(
                runtime.pool,
                settings.schema_name,
                now=utc_now(),
                progress_timeout=settings.progress_timeout,
                pending_timeout=settings.pending_timeout,
            )
            for change in changes:
                log.warning(
                    "snapshot_timed_out", snapshot_id=str(change.after.id), error=change.after.error
                )
            if changes and runtime.publishers is not None:
                await announce(runtime.publishers.publish, changes)
            # Each restore's failure is logged by restores/records.py as its status changes.
            await sweep_restores(
                runtime.pool,
                settings.schema_name,
                now=utc_now(),
                progress_timeout=settings.progress_timeout,
                pending_timeout=settings.pending_timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # A database hiccup must not end the sweeper: the next pass tries again.
            log.exception("sweep_failed")
        await asyncio.sleep(settings.sweep_interval)


def start_sweeper(settings: CatalogSettings) -> StartHook:
    """An `after_startup` hook that starts the sweeper as one of the runtime's tasks."""

    async def start(runtime: Runtime) -> None:
        runtime.tasks.append(asyncio.create_task(run_sweeper(runtime, settings), name="sweeper"))
        log.info("sweeper_started", interval=settings.sweep_interval)

    return start
