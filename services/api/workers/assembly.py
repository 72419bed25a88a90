"""Wiring the api's workers from the parts `build_app` made, in the order they start."""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from services.api.adapters.broker import BrokerLink
from services.api.adapters.channels import DeliveryQueue
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import BackupRequests, Outbox
from services.api.adapters.retention import RetentionConfigs
from services.api.databases import DatabaseLists
from services.api.keys import Keys
from services.api.notifications.dispatcher import Dispatcher
from services.api.notifications.isolation import make_undumpable
from services.api.notifications.overdue import OverdueChecker
from services.api.notifications.quota import quota_hooks
from services.api.notifications.subscriber import Notifications
from services.api.settings import ApiSettings
from services.api.usecases.backups import BackupTools
from services.api.usecases.pruning import PruneTools
from services.api.workers._group import LoopWorker, Worker, Workers
from services.api.workers.relay import OutboxRelay
from services.api.workers.retention import RetentionPass
from services.api.workers.scheduler import Scheduler
from shared.logging import get_logger
from shared.service import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class SharedParts:
    """What the workers share with the routes."""

    settings: ApiSettings
    runtime: Runtime
    registry: CollectorRegistry
    link: BrokerLink
    keys: Keys
    lists: DatabaseLists
    notifications: Notifications


class BrokerConnection:
    """Connects the broker link at start, and keeps trying in the background while the
    broker is away (requests are still accepted into the outbox; they leave once it is
    back); closes the link at stop."""

    name = "broker"

    def __init__(self, link: BrokerLink) -> None:
        self._link = link
        self._retrying = LoopWorker("broker", link.keep_connecting)

    async def start(self) -> None:
        if not await self._link.connect():
            await self._retrying.start()

    async def stop(self) -> None:
        await self._retrying.stop()
        await self._link.close()


class HookRunners:
    """The operator's hooks: their processes are made undumpable at start, and the runner
    waits for the running hooks at stop."""

    name = "hooks"

    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def start(self) -> None:
        hooks = self._notifications.hooks.catalog.hooks
        if hooks and make_undumpable():
            log.info("hooks_defined", hooks=sorted(hooks), undumpable=True)

    async def stop(self) -> None:
        await self._notifications.close()


def build_workers(parts: SharedParts, relay: OutboxRelay) -> Workers:
    """Broker link and hooks first (stopped last), then the relay, the retention pass, the
    notification dispatcher, the overdue check and the scheduler."""
    settings = parts.settings
    workers: list[Worker] = [
        BrokerConnection(parts.link),
        HookRunners(parts.notifications),
        LoopWorker("outbox-relay", relay.run),
    ]
    if settings.retention_interval:  # API_RETENTION_INTERVAL=0 turns the pass off
        workers.append(LoopWorker("retention-pass", _retention_pass(parts, relay).run))
    workers += _notification_workers(parts)
    workers.append(LoopWorker("scheduler", _scheduler(parts, relay).run))
    return Workers(workers)


def _retention_pass(parts: SharedParts, relay: OutboxRelay) -> RetentionPass:
    runtime, schema = parts.runtime, parts.settings.schema_name

    def tools() -> PruneTools:
        pool = runtime.pool
        return PruneTools(
            link=parts.link,
            locks=SnapshotLocks(pool, schema),
            volumes=VolumeRepository(pool, schema),
            keys=parts.keys,
            outbox=Outbox(pool, schema),
            relay=relay,
            configs=RetentionConfigs(pool, schema),
        )

    configs = RetentionConfigs(runtime.pool, schema)
    return RetentionPass(configs, tools, interval=parts.settings.retention_interval)


def _notification_workers(parts: SharedParts) -> list[Worker]:
    """The dispatcher and the RPO checker, on every replica (each pass is safe to share)."""
    notifications, pool = parts.notifications, parts.runtime.pool
    queue = DeliveryQueue(pool, notifications.schema)
    dispatcher = Dispatcher(
        queue, parts.keys.vault, notifications.settings, outbound=notifications.outbound
    )
    checker = OverdueChecker(
        pool,
        notifications.schema,
        parts.link,
        notifications.gauge,
        interval=notifications.settings.overdue_interval,
    )
    return [
        LoopWorker("notification-dispatcher", dispatcher.run),
        LoopWorker("overdue-checker", checker.run),
    ]


def _scheduler(parts: SharedParts, relay: OutboxRelay) -> Scheduler:
    pool, schema = parts.runtime.pool, parts.settings.schema_name
    return Scheduler(
        BackupConfigRepository(pool, schema),
        BackupRequests(pool, schema),
        BackupTools(
            servers=ServerRepository(pool, schema),
            volumes=VolumeRepository(pool, schema),
            link=parts.link,
            lists=parts.lists,
            keys=parts.keys,
            over_quota=quota_hooks(pool, schema),
        ),
        interval=parts.settings.scheduler_interval,
        registry=parts.registry,
        wake=relay.wake,
    )
