"""The volume-over-quota notification, called where quotas are enforced."""

from collections.abc import Callable
from uuid import UUID

from services.api.adapters import notification_configs as configs
from services.api.notifications.triggers import queue_notification
from services.api.quotas import OverQuota, OverQuotaHook, log_over_quota
from shared.database import Pool
from shared.events import utc_now


async def notify_volume_over_quota(
    pool: Pool,
    schema: str,
    *,
    volume_id: UUID,
    volume_name: str,
    used_bytes: int,
    quota_bytes: int,
    config_id: UUID | None = None,
    refused: bool = False,
    dedupe_key: str | None = None,
) -> int:
    """Queue "volume over quota" to the channels of the configurations writing to the volume.

    With `config_id`, only that configuration's channels. Each configuration's `notify.on`
    decides (it is a failure kind). By default a volume notifies each channel at most once per
    UTC day; pass `dedupe_key` (e.g. the refused snapshot's id) to choose otherwise. Never
    raises for a missing configuration table. Returns how many deliveries were queued.
    """
    now = utc_now()
    key = f"quota:{volume_id}:{dedupe_key or now.date().isoformat()}"
    facts = {
        "volume_id": str(volume_id),
        "volume": volume_name,
        "used_bytes": used_bytes,
        "quota_bytes": quota_bytes,
        "refused": refused,
    }
    queued = 0
    async with pool.acquire() as conn, conn.transaction():
        if config_id is not None:
            found = await configs.find_config(conn, schema, config_id)
            chosen = [found] if found is not None else []
        else:
            chosen = [
                c for c in await configs.all_configs(conn, schema) if volume_id in c.volume_ids
            ]
        for config in chosen:
            queued += await queue_notification(
                conn, schema, config, "volume_over_quota", facts, dedupe_key=key, occurred_at=now
            )
    return queued


def over_quota_hook(
    pool: Pool, schema: str, *, config_id: UUID | None = None, dedupe_key: str | None = None
) -> OverQuotaHook:
    """An `OverQuotaHook` for `services.api.quotas.check_quotas(..., on_over_quota=...)`: logs
    `volume_over_quota` as the default hook does, then queues the notification."""

    async def hook(over: OverQuota) -> None:
        await log_over_quota(over)
        await notify_volume_over_quota(
            pool,
            schema,
            volume_id=over.volume_id,
            volume_name=over.volume_name,
            used_bytes=over.used_bytes,
            quota_bytes=over.quota_bytes,
            config_id=config_id,
            refused=over.action == "refuse",
            dedupe_key=dedupe_key,
        )

    return hook


QuotaHooks = Callable[[UUID | None], OverQuotaHook]
"""The over-quota hook for a configuration (None: a manual backup, every configuration's
channels that write to the volume)."""


def quota_hooks(pool: Pool, schema: str) -> QuotaHooks:
    """Over-quota hooks that notify, one per configuration asking."""

    def for_config(config_id: UUID | None) -> OverQuotaHook:
        return over_quota_hook(pool, schema, config_id=config_id)

    return for_config
