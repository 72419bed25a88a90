"""The overdue-backup alarm (RPO): every configuration with `rpo_hours` wants a completed
snapshot of each of its databases at least that often.

One replica checks at a time (a transaction-scoped advisory lock), every `overdue_interval`
seconds. A database with no completed snapshot within `rpo_hours` (counted from the
configuration's creation when it never had one) opens an episode, notified once; a success
closes it. Each replica refreshes the `databasement_last_success_timestamp_seconds` gauge
from the shared table, so any replica's /metrics shows it.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from prometheus_client import CollectorRegistry, Gauge

from services.api.adapters import overdue as store
from services.api.adapters.notification_configs import ConfigFacts, fired_databases, rpo_configs
from services.api.asking import ask
from services.api.errors import UnavailableError
from services.api.notifications.ports import CatalogAsker
from services.api.notifications.triggers import queue_notification
from shared.database import Conn, Pool
from shared.events import utc_now
from shared.logging import get_logger
from shared.queries import ListSnapshots

log = get_logger(__name__)
ALL_DATABASES = "*"
"""The row of a configuration that takes every database and has not fired yet."""


def due_by(
    last_success_at: datetime | None, created_at: datetime | None, rpo_hours: float
) -> datetime | None:
    """When the next completed snapshot is due; None when nothing to count from. Pure."""
    since = last_success_at or created_at
    return None if since is None else since + timedelta(hours=rpo_hours)


def last_success_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "databasement_last_success_timestamp_seconds",
        "Unix time of the last completed snapshot of a database a configuration with an RPO "
        "backs up (0 when it never had one).",
        ["server", "database"],
        registry=registry,
    )


class OverdueChecker:
    """Finds databases past their RPO, notifies once per episode, keeps the gauge current."""

    def __init__(
        self, pool: Pool, schema: str, link: CatalogAsker, gauge: Gauge, *, interval: float
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.link = link
        self.gauge = gauge
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.check_once(now=utc_now())
                await self.refresh_gauge()
            except Exception:  # the loop's boundary: one bad pass must not stop the alarm
                log.exception("overdue_check_failed")
            await asyncio.sleep(self.interval)

    async def check_once(self, *, now: datetime) -> int | None:
        """One pass; how many episodes it opened, or None when another replica holds the pass."""
        opened = 0
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.try_lock(conn, self.schema):
                return None
            watched = await rpo_configs(conn, self.schema)
            await store.forget_others(conn, self.schema, [config.id for config, _ in watched])
            for config, server_name in watched:
                opened += await self._check_config(conn, config, server_name, now=now)
        if opened:
            log.warning("backups_overdue", opened=opened)
        return opened

    async def _check_config(
        self, conn: Conn, config: ConfigFacts, server_name: str, *, now: datetime
    ) -> int:
        if config.server_id is None or config.rpo_hours is None:
            return 0
        databases = sorted(
            set(config.databases) | set(await fired_databases(conn, self.schema, config.id))
        )
        databases = databases or [ALL_DATABASES]
        await store.forget_databases(conn, self.schema, config.id, config.server_id, databases)
        opened = 0
        for database in databases:
            try:
                found = await self._last_success(config.server_id, database)
            except UnavailableError as exc:
                log.warning(
                    "overdue_not_checked", config=config.name, database=database, error=str(exc)
                )
                continue
            last = await store.record_check(
                conn,
                self.schema,
                config_id=config.id,
                server_id=config.server_id,
                database=database,
                config_name=config.name,
                server_name=server_name,
                last_success_at=found,
                now=now,
            )
            due = due_by(last, config.created_at, config.rpo_hours)
            if due is None or due > now:
                await store.close_episode(conn, self.schema, config.id, config.server_id, database)
                continue
            if await store.open_episode(
                conn, self.schema, config.id, config.server_id, database, since=due, now=now
            ):
                opened += 1
                facts: dict[str, Any] = {
                    "server": server_name,
                    "database": database,
                    "rpo_hours": config.rpo_hours,
                    "last_success_at": last.isoformat() if last else None,
                    "overdue_since": due.isoformat(),
                }
                key = f"overdue:{config.id}:{config.server_id}:{database}:{due.isoformat()}"
                await queue_notification(
                    conn,
                    self.schema,
                    config,
                    "backup_overdue",
                    facts,
                    dedupe_key=key,
                    occurred_at=now,
                )
        return opened

    async def _last_success(self, server_id: UUID, database: str) -> datetime | None:
        """The newest completed snapshot of the database, as the catalog knows it."""
        query = ListSnapshots(
            status="completed",
            server_id=server_id,
            database=None if database == ALL_DATABASES else database,
            limit=1,
        )
        snapshots = (await ask(self.link, query)).snapshots
        if not snapshots:
            return None
        newest = snapshots[0]
        stamp = newest.get("finished_at") or newest.get("created_at")
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None

    async def refresh_gauge(self) -> None:
        rows = await store.last_successes(self.pool, self.schema)
        self.gauge.clear()
        for server, database, last in rows:
            self.gauge.labels(server=server, database=database).set(last.timestamp() if last else 0)
