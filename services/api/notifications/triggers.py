"""From an event to its notifications and hooks: a snapshot's end, a restore's or verify's end.

A snapshot fired by a backup configuration notifies that configuration's channels when its
`notify.on` wants the kind (failure by default). Manual backups have no configuration, so
they notify nobody. Each event is handled once (processed_events): the deliveries are
written in the same transaction as its id, and hooks start only after that commit.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.api.adapters import notification_configs as configs
from services.api.adapters.channels import enqueue
from services.api.adapters.overdue import clear_overdue
from services.api.asking import ask
from services.api.errors import RefusedError, UnavailableError
from services.api.notifications import messages, rules
from services.api.notifications.hooks import HookRunner
from services.api.notifications.ports import CatalogAsker
from shared.adapters.idempotency import handle_once
from shared.database import Conn, Pool
from shared.events import Event, RestoreFailed, RestoreFinished, SnapshotStatusChanged
from shared.logging import get_logger
from shared.queries import GetSnapshot

log = get_logger(__name__)
SNAPSHOT_FACTS = ("server_name", "database", "path", "size", "volume_id", "finished_at")


async def queue_notification(
    conn: Conn,
    schema: str,
    config: configs.ConfigFacts,
    kind: rules.Kind,
    facts: dict[str, Any],
    *,
    dedupe_key: str,
    occurred_at: Any,
) -> int:
    """Queue `kind` to the configuration's channels when its trigger wants it."""
    if not rules.wanted(config.notify_on, kind) or not config.channel_ids:
        return 0
    body = messages.payload(
        kind,
        facts | {"config_id": str(config.id), "config_name": config.name},
        occurred_at=occurred_at,
    )
    return await enqueue(
        conn, schema, channel_ids=config.channel_ids, kind=kind, dedupe_key=dedupe_key, payload=body
    )


@dataclass(frozen=True)
class Notifier:
    """What the api does when a snapshot, restore or verify ends."""

    pool: Pool
    schema: str
    link: CatalogAsker
    hooks: HookRunner

    async def on_snapshot_status(self, event: SnapshotStatusChanged) -> None:
        kind = rules.snapshot_kind(event.status)
        if kind is None:
            return
        async with self.pool.acquire() as conn:
            request, config = await self._request_and_config(conn, event.snapshot_id)
        facts: dict[str, Any] = {"snapshot_id": str(event.snapshot_id), "status": event.status}
        if request is not None:
            facts |= {"server": request.server_name, "database": request.database}
        if config is not None:
            facts |= await self._snapshot_facts(event.snapshot_id)
        facts["error"] = event.error

        async def clear_overdue_on_success(tx: Conn) -> None:
            if request is not None and event.status == "completed":
                await clear_overdue(
                    tx, self.schema, request.server_id, request.database, at=event.occurred_at
                )

        queued = await self._queue_once(
            event, config, kind, facts, also_in_transaction=clear_overdue_on_success
        )
        if queued is None:
            return
        log.info(
            "snapshot_end_handled", kind=kind, notifications=queued, config=config and config.name
        )
        if config is not None:
            self.hooks.start(
                config.post_backup_hook,
                facts | {"config_id": config.id, "config_name": config.name, "hook": "post_backup"},
                source="post_backup_hook",
                snapshot_id=event.snapshot_id,
            )

    async def on_restore_end(self, event: RestoreFinished | RestoreFailed) -> None:
        finished = isinstance(event, RestoreFinished)
        verify_ok = event.verify_ok if isinstance(event, RestoreFinished) else None
        kind = rules.restore_kind(mode=event.mode, finished=finished, verify_ok=verify_ok)
        async with self.pool.acquire() as conn:
            request, config = await self._request_and_config(conn, event.snapshot_id)
            target = await configs.restore_target(conn, self.schema, event.restore_id)
        facts: dict[str, Any] = {
            "snapshot_id": str(event.snapshot_id),
            "restore_id": str(event.restore_id),
            "mode": event.mode,
            "status": "completed" if finished and verify_ok is not False else "failed",
            "server": target and target.server_name,
            "database": target and target.database,
            "source_server": request and request.server_name,
            "source_database": request and request.database,
            "error": _restore_error(event),
        }
        if event.mode == "verify":
            facts["verify_ok"] = verify_ok
        queued = await self._queue_once(event, config, kind, facts)
        if queued is None:
            return
        log.info(
            "restore_end_handled", kind=kind, notifications=queued, config=config and config.name
        )
        if config is not None:
            self.hooks.start(
                config.post_restore_hook,
                facts
                | {"config_id": config.id, "config_name": config.name, "hook": "post_restore"},
                source="post_restore_hook",
                snapshot_id=event.snapshot_id,
                restore_id=event.restore_id,
            )

    async def _request_and_config(
        self, conn: Conn, snapshot_id: UUID
    ) -> tuple[configs.RequestFacts | None, configs.ConfigFacts | None]:
        """The backup request behind a snapshot and the configuration that fired it, if any."""
        request = await configs.find_request(conn, self.schema, snapshot_id)
        config = await configs.find_config(
            conn, self.schema, request.config_id if request else None
        )
        return request, config

    async def _queue_once(
        self,
        event: Event,
        config: configs.ConfigFacts | None,
        kind: rules.Kind,
        facts: dict[str, Any],
        *,
        also_in_transaction: Callable[[Conn], Awaitable[None]] | None = None,
    ) -> int | None:
        """Queue the event's notifications with its handled mark; None when handled before."""
        async with handle_once(self.pool, schema=self.schema, event_id=event.event_id) as tx:
            if tx is None:
                return None
            if also_in_transaction is not None:
                await also_in_transaction(tx)
            if config is None:
                return 0
            return await queue_notification(
                tx,
                self.schema,
                config,
                kind,
                facts,
                dedupe_key=f"{kind}:{event.event_id}",
                occurred_at=event.occurred_at,
            )

    async def _snapshot_facts(self, snapshot_id: UUID) -> dict[str, Any]:
        """Size, path and the like from the catalog; without them when it does not answer."""
        try:
            snapshot = (await ask(self.link, GetSnapshot(snapshot_id=snapshot_id))).snapshot
        except RefusedError:
            return {}
        except UnavailableError as exc:
            log.warning("snapshot_facts_unavailable", error=str(exc))
            return {}
        facts = {key: snapshot.get(key) for key in SNAPSHOT_FACTS}
        facts["server"] = facts.pop("server_name")
        return {key: value for key, value in facts.items() if value is not None}


def _restore_error(event: RestoreFinished | RestoreFailed) -> str | None:
    if isinstance(event, RestoreFailed):
        return event.reason
    if event.verify_ok is False:
        tables = ", ".join(
            f"{d.table} ({d.expected} expected, {d.actual} restored)"
            for d in event.table_differences[:5]
        )
        return f"row counts differ: {tables}" if tables else "row counts differ"
    return None
