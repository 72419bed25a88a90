"""Volume quotas: refuse or warn about a backup to a volume at or over its quota.

A volume's usage is the bytes of its completed snapshots, as the catalog counts them. The
check runs before a backup's request and events are written, for manual backups and for
every firing of a configuration. When the catalog does not answer, the backup is accepted
unchecked (like the database check while the broker is away) and `quota_not_checked` logged.

Hook point for notifications: every volume found at or over its quota is passed to an
`OverQuotaHook` (default `log_over_quota`, which logs `volume_over_quota`); callers pass their
own to notify, and a hook's failure never fails the backup.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.asking import ask
from services.api.errors import InvalidRequestError, UnavailableError
from services.api.keys import Keys
from services.api.models import Volume
from services.api.questions import volume_usage
from services.api.schemas.retention import VolumeUsageReport
from services.api.schemas.volumes import VolumeUpdate
from services.api.volumes import volume_spec
from shared.logging import get_logger
from shared.queries import VolumeUsage as VolumeUsageQuery

log = get_logger(__name__)


class QuotaExceededError(InvalidRequestError):
    """A backup to a volume at or over its quota, whose action is `refuse`."""


@dataclass(frozen=True)
class OverQuota:
    """A volume found at or over its quota when a backup asked for it."""

    volume_id: UUID
    volume_name: str
    used_bytes: int
    quota_bytes: int
    action: Literal["refuse", "warn"]

    def sentence(self) -> str:
        verb = "refused" if self.action == "refuse" else "accepted with a warning"
        return (
            f"volume {self.volume_name!r} uses {self.used_bytes} bytes, at or over its quota of "
            f"{self.quota_bytes} bytes: the backup is {verb}"
        )


OverQuotaHook = Callable[[OverQuota], Awaitable[None]]


async def log_over_quota(over: OverQuota) -> None:
    """The default hook: one warning line (notifications hook in here)."""
    log.warning(
        "volume_over_quota",
        volume_id=str(over.volume_id),
        volume=over.volume_name,
        used_bytes=over.used_bytes,
        quota_bytes=over.quota_bytes,
        action=over.action,
    )


async def check_quotas(
    volumes: Sequence[Volume], *, link: BrokerLink, on_over_quota: OverQuotaHook = log_over_quota
) -> list[OverQuota]:
    """The volumes over their quota that only warn; QuotaExceededError for one that refuses."""
    warned: list[OverQuota] = []
    for volume in volumes:
        over = await _over_quota(volume, link)
        if over is None:
            continue
        try:
            await on_over_quota(over)
        except Exception:  # a hook (a notification) never decides a backup
            log.exception("over_quota_hook_failed", volume_id=str(volume.id))
        if over.action == "refuse":
            raise QuotaExceededError(over.sentence())
        warned.append(over)
    return warned


async def _over_quota(volume: Volume, link: BrokerLink) -> OverQuota | None:
    if volume.quota_bytes is None:
        return None
    used = await _used_bytes(volume, link)
    if used is None or used < volume.quota_bytes:
        return None
    return OverQuota(volume.id, volume.name, used, volume.quota_bytes, volume.quota_action)


async def _used_bytes(volume: Volume, link: BrokerLink) -> int | None:
    try:
        used: int | None = (await ask(link, VolumeUsageQuery(volume_id=volume.id))).bytes
    except UnavailableError:  # a refusal too
        used = None
    if used is None:
        log.warning("quota_not_checked", volume_id=str(volume.id), reason="catalog_unanswered")
        return None
    return used


def quota_change(body: VolumeUpdate) -> dict[str, object]:
    """The quota fields a volume update sets: those given (a given null quota removes it)."""
    return body.model_dump(include={"quota_bytes", "quota_action"} & body.model_fields_set)


async def volume_report(
    volume: Volume, *, link: BrokerLink, keys: Keys, wait: float
) -> VolumeUsageReport:
    """Used (catalog), free (uploader; null for S3 or without an answer) and the quota."""
    sealed = keys.sealer.seal(volume_spec(volume, vault=keys.vault))
    usage = await volume_usage(volume.id, sealed, link, wait=wait)
    over = (
        volume.quota_bytes is not None
        and usage.bytes is not None
        and usage.bytes >= volume.quota_bytes
    )
    return VolumeUsageReport(
        volume_id=volume.id,
        used_bytes=usage.bytes,
        snapshots=usage.snapshots,
        free_bytes=usage.free_bytes,
        quota_bytes=volume.quota_bytes,
        quota_action=volume.quota_action,
        over_quota=over,
    )
