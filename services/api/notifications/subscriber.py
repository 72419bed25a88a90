"""The api's notification consumer, wired by the composition root."""

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter
from prometheus_client import CollectorRegistry

from services.api.adapters.broker import BrokerLink
from services.api.adapters.outbox import Outbox
from services.api.notifications.hook_catalog import HookCatalog
from services.api.notifications.hooks import HookRunner
from services.api.notifications.overdue import last_success_gauge
from services.api.notifications.settings import NotificationSettings
from services.api.notifications.triggers import Notifier
from shared.events import (
    RestoreFailed,
    RestoreFinished,
    SnapshotStatusChanged,
    SnapshotWarned,
)
from shared.logging import get_logger
from shared.messaging import routed
from shared.outbound import STRICT, OutboundPolicy
from shared.service import Runtime
from shared.topology import NOTIFICATIONS, Topology

log = get_logger(__name__)

NOTIFICATION_PREFETCH = 2
"""Status changes the api handles at once."""


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
        """Subscribe to snapshot and restore ends on the api's notifications queue.

        A body that fails its event's model is rejected to the queue's DLQ at once
        (shared/rejection.py); a failure to queue its notifications is nacked and
        redelivered, dead-lettered after the delivery limit; the ack follows the side effect.
        """
        router = RabbitRouter()
        ends = router.subscriber(
            topology.queue(NOTIFICATIONS),
            topology.events,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # A few at a time: the burst of status changes after a fleet's backups must not
            # take the pool's connections from the requests the api is answering.
            channel=Channel(prefetch_count=NOTIFICATION_PREFETCH),
            title="api.notifications",
            description="Snapshot status changes and restore/verify ends: queue the "
            "configuration's notifications, start its hooks.",
        )

        @ends(filter=routed(SnapshotStatusChanged.routing_key))
        async def on_snapshot_status_changed(event: SnapshotStatusChanged) -> None:
            await self.notifier().on_snapshot_status(event)

        @ends(filter=routed(RestoreFinished.routing_key))
        async def on_restore_finished(event: RestoreFinished) -> None:
            await self.notifier().on_restore_end(event)

        @ends(filter=routed(RestoreFailed.routing_key))
        async def on_restore_failed(event: RestoreFailed) -> None:
            await self.notifier().on_restore_end(event)

        broker.include_router(router)

    async def close(self) -> None:
        await self.hooks.close()
