"""The scheduler: every api replica runs one; each due slot of a configuration fires once.

Exactly once across replicas: a replica claims the slot (the firing's key row) before it plans
anything, so when two replicas reach the same slot only one plans it; the request and outbox
rows are written with the firing's outcome in one transaction (BackupConfigRepository). A slot
whose planning kills its replica stays claimed and failed, instead of taking down every replica
in turn. Slots missed while every replica was down collapse into the latest one
(timing.due_slot).
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.outbox import BackupRequests
from services.api.configs.model import BackupConfig
from services.api.configs.timing import due_slot, next_slot
from services.api.errors import InvalidRequestError, NotFoundError, UnavailableError
from services.api.usecases.backups import BackupTools, Planned, config_order, plan_backup_order
from shared.database import Conn
from shared.events import utc_now
from shared.logging import get_logger

log = get_logger(__name__)

SHORTEST_SLEEP = 0.05


class Scheduler:
    """Looks for due configurations every `interval` seconds (sooner when a slot is near)."""

    def __init__(
        self,
        configs: BackupConfigRepository,
        requests: BackupRequests,
        tools: BackupTools,
        *,
        interval: float,
        registry: CollectorRegistry,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._configs = configs
        self._requests = requests
        self._tools = tools
        self._interval = interval
        self._wake = wake
        self._clock = clock
        self.firings = Counter(
            "databasement_scheduler_firings",
            "Scheduled firings this replica made, by configuration and outcome (fired: "
            "snapshots requested; failed: none, with the reason in the config's last_error).",
            ["config_id", "outcome"],
            registry=registry,
        )
        self.last_pass = Gauge(
            "databasement_scheduler_last_pass_timestamp_seconds",
            "When this replica's scheduler last read the configurations (alert when it stops).",
            registry=registry,
        )

    async def run(self) -> None:
        """Fire due configurations until cancelled at shutdown; never stops on an error."""
        while True:
            nearest = await self.tick()
            pause = self._interval
            if nearest is not None:
                pause = min(pause, (nearest - self._clock()).total_seconds())
            await asyncio.sleep(max(pause, SHORTEST_SLEEP))

    async def tick(self) -> datetime | None:
        """One pass: fire every due configuration; the nearest next slot, if any."""
        try:
            scheduled = await self._configs.scheduled()
        except Exception:
            # The database is away: nothing can fire without it; try again on the next pass.
            log.exception("scheduler_pass_failed")
            return None
        now = self._clock()
        self.last_pass.set(now.timestamp())
        nearest: datetime | None = None
        for config, fired_through in scheduled:
            try:
                upcoming = await self._visit(config, fired_through, now)
            except Exception:
                # One configuration's trouble must not stop the others' firings.
                log.exception("scheduled_firing_crashed", config_id=str(config.id))
                continue
            nearest = upcoming if nearest is None else min(nearest, upcoming)
        return nearest

    async def _visit(
        self, config: BackupConfig, fired_through: datetime, now: datetime
    ) -> datetime:
        """Fire `config` if a slot is due; its next slot."""
        assert config.schedule is not None  # noqa: S101 - scheduled() selects those with one
        slot = due_slot(config.schedule, config.timezone, now=now, since=fired_through)
        if slot is not None:
            await self.fire(config, slot)
        return next_slot(config.schedule, config.timezone, now)

    async def fire(self, config: BackupConfig, slot: datetime) -> bool:
        """Fire `slot` of `config` unless another replica did; whether this one did.

        The slot is claimed first. A server that cannot be listed, a volume or server gone, no
        database selected, or a selection that fails (too slow, too many names) is a FAILED
        firing: recorded once with its reason (the config's `last_error`), logged, and
        counted; the next slot tries again. When nobody answers the list question (broker or
        dumper away) the firing is postponed to the next pass instead, since the slot is not
        at fault (the claim is released).
        """
        if await self._configs.fired(config.id, slot):
            return False
        now = self._clock()
        if not await self._configs.claim(config.id, slot, now=now):
            log.info("scheduled_firing_taken", config_id=str(config.id), slot=slot.isoformat())
            return False
        planned: Planned = []
        error: str | None = None
        try:
            planned = await plan_backup_order(config_order(config), self._tools, now=now)
        except UnavailableError as exc:
            log.warning("scheduled_firing_postponed", config_id=str(config.id), reason=str(exc))
            await self._configs.release(config.id, slot)
            return False
        except asyncio.CancelledError:
            # Shut down mid-planning (a rolling restart): another replica may take the slot.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._configs.release(config.id, slot))
            raise
        except (NotFoundError, InvalidRequestError) as exc:
            error = str(exc)
        except Exception:
            # Whatever broke the planning, the slot is settled failed, not left unfinished.
            log.exception("scheduled_firing_crashed", config_id=str(config.id))
            error = "its planning failed unexpectedly; the api's log has the details"

        async def write(conn: Conn) -> None:
            await self._requests.write(conn, planned)

        won = await self._configs.settle(
            config.id, slot, now=now, snapshots=len(planned), error=error, write=write
        )
        if not won:
            log.info("scheduled_firing_dropped", config_id=str(config.id), slot=slot.isoformat())
            return False
        self.firings.labels(config_id=str(config.id), outcome="failed" if error else "fired").inc()
        if error:
            log.error(
                "scheduled_firing_failed",
                config_id=str(config.id),
                slot=slot.isoformat(),
                reason=error,
            )
        else:
            self._wake()
            log.info(
                "config_fired",
                config_id=str(config.id),
                slot=slot.isoformat(),
                snapshot_ids=[str(request.id) for request, _ in planned],
            )
        return True
