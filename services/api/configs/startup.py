"""Starting the scheduler inside the api's lifespan, from what `build_app` put in app.state."""

import asyncio

from fastapi import FastAPI

from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.configs.scheduler import Scheduler
from services.api.notifications.quota import quota_hooks
from services.api.usecases.backups import BackupTools


def start_scheduler(app: FastAPI) -> asyncio.Task[None]:
    """The scheduler's task; `cancel_tasks` ends it at shutdown like the relay's."""
    state = app.state
    pool, schema = state.runtime.pool, state.settings.schema_name
    scheduler = Scheduler(
        BackupConfigRepository(pool, schema),
        BackupRequests(pool, schema),
        BackupTools(
            servers=ServerRepository(pool, schema),
            volumes=VolumeRepository(pool, schema),
            link=state.link,
            lists=state.database_lists,
            keys=state.keys,
            over_quota=quota_hooks(pool, schema),
        ),
        interval=state.settings.scheduler_interval,
        registry=state.runtime.registry,
        wake=state.relay.wake,
    )
    state.scheduler = scheduler
    return asyncio.create_task(scheduler.run(), name="scheduler")
