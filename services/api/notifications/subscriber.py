"""The api's notification consumer, wired by the composition root."""

from typing import Any

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from services.api.adapters.broker import BrokerLink
from services.api.adapters.outbox import Outbox
from services.api.notifications.hook_catalog import HookCatalog
from services.api.notifications.hooks import HookRunner
from services.api.notifications.overdue import last_success_gauge
from services.api.notifications.settings import NotificationSettings
from services.api.notifications.triggers import Notifier
from shared.events import (
    EVENTS_BY_KEY,
    RestoreFailed,
    RestoreFinished,
    SnapshotStatusChanged,
    SnapshotWarned,
)
from shared.logging import get_logger
from shared.outbound import STRICT, OutboundPolicy
from shared.service import Runtime
from shared.topology import NOTIFICATIONS, Topology

log = get_logger(__name__)


class Notifications:
    """Channels' deliveries, the RPO alarm and hooks, for one api process."""

    def __init__(
        self,
        runtime: Runtime,
        link: BrokerLink,
        settings: NotificationSettings,
        *,
        schema: str,
        registry: CollectorRegistry,
        hooks: HookCatalog,
        hook_concurrency: int,
        outbound: OutboundPolicy = STRICT,
    ) -> None:
        self.outbound = outbound
        self.runtime = runtime
        self.link = link
        self.settings = settings
        self.schema = schema
        self.gauge = last_success_gauge(registry)
        self.hooks = HookRunner(self._warn, hooks, concurrency=hook_concurrency)

    async def _warn(self, warning: SnapshotWarned) -> None:
        await Outbox(self.runtime.pool, self.schema).add(warning)

    def notifier(self) -> Notifier:
        return Notifier(self.runtime.pool, self.schema, self.link, self.hooks)

    def register(self, broker: RabbitBroker, topology: Topology) -> None:
        """Subscribe to snapshot and restore ends on the api's notifications queue."""

        @broker.subscriber(
            topology.queue(NOTIFICATIONS),
            topology.events,
            ack_policy=AckPolicy.MANUAL,
            title="api.notifications",
            description="Snapshot status changes and restore/verify ends: queue the "
            "configuration's notifications, start its hooks.",
        )
        async def on_event(body: dict[str, Any], message: RabbitMessage) -> None:
            event_type = EVENTS_BY_KEY.get(message.raw_message.routing_key or "")
            try:
                event = event_type.model_validate(body) if event_type else None
            except ValidationError:
                log.warning(
                    "notification_event_invalid", routing_key=message.raw_message.routing_key
                )
                await message.reject()
                return
            try:
                await self.handle(event)
            except Exception:  # the boundary: requeued, and dead-lettered after the limit
                log.exception("notification_event_failed")
                await message.nack()
                return
            await message.ack()

    async def handle(self, event: Any) -> None:
        notifier = self.notifier()
        if isinstance(event, SnapshotStatusChanged):
            await notifier.on_snapshot_status(event)
        elif isinstance(event, RestoreFinished | RestoreFailed):
            await notifier.on_restore_end(event)

    async def close(self) -> None:
        await self.hooks.close()
