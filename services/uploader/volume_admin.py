"""Deleting a snapshot's files, probing a volume (making a missing local directory), asking
its free space.

Failures a person can act on (a missing bucket, access denied, a full or read-only disk, an
unreachable server, a seal that won't open) become sentences, never retries.
"""

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from uuid import uuid4

from pydantic import ValidationError

from shared.events import Event, SnapshotDeleted, SnapshotDeleteFailed, SnapshotDeleteRequested
from shared.logging import get_logger
from shared.queries import (
    Check,
    ChecksReply,
    FreeSpaceReply,
    QueryRefused,
    Reply,
    TestVolume,
    UploaderQueries,
    VolumeFreeSpace,
    refused_for,
)
from shared.sealing import UnsealError
from shared.volumes import Volume, VolumeError

log = get_logger(__name__)

PROBE_PREFIX = ".databasement-probe-"
PROBE_BYTES = b"databasement probe: safe to delete\n"
PROBE_STEPS = ("write", "read", "delete")
"""The steps after the first, which is the volume's `place` (its directory or bucket)."""

Publish = Callable[[Event], Awaitable[None]]


class SealedVolumes(Protocol):
    def open_sealed(self, token: str) -> Volume: ...


class VolumeUnusableError(Exception):
    """The sealed spec does not open into a volume."""


def open_volume_of(volumes: SealedVolumes, token: str) -> Volume:
    """The volume a sealed spec names; VolumeUnusableError with a sentence if it won't open."""
    try:
        return volumes.open_sealed(token)
    except UnsealError as exc:
        raise VolumeUnusableError(str(exc)) from None
    except ValidationError:
        raise VolumeUnusableError("the volume spec is malformed") from None


async def delete_snapshot(
    volumes: SealedVolumes, event: SnapshotDeleteRequested, publish: Publish
) -> Event:
    """Remove the artifact, then the manifest (either may already be gone); tell the outcome."""
    try:
        volume = open_volume_of(volumes, event.volume)
        for key in (event.path, event.manifest_path):
            if key:
                await volume.delete(key)
    except (VolumeError, VolumeUnusableError) as exc:
        failed = SnapshotDeleteFailed(
            snapshot_id=event.snapshot_id, volume_id=event.volume_id, reason=str(exc)
        )
        await publish(failed)
        log.warning("snapshot_not_deleted", reason=failed.reason)
        return failed
    deleted = SnapshotDeleted(snapshot_id=event.snapshot_id, volume_id=event.volume_id)
    await publish(deleted)
    log.info("snapshot_files_deleted", path=event.path)
    return deleted


@dataclass(frozen=True)
class ProbeCheck:
    check: str
    ok: bool
    detail: str


async def probe(volume: Volume) -> list[ProbeCheck]:
    """Prepare the directory or bucket (a missing local directory is made), then write, read
    back and delete `.databasement-probe-<uuid>`; each step a check."""
    key = f"{PROBE_PREFIX}{uuid4()}"
    where = volume.location
    steps = (volume.place, *PROBE_STEPS)
    checks: list[ProbeCheck] = []
    try:
        checks.append(ProbeCheck(volume.place, ok=True, detail=await volume.prepare()))
        await volume.write(key, PROBE_BYTES)
        checks.append(ProbeCheck("write", ok=True, detail=f"wrote {key} to {where}"))
        data = await volume.read(key)
        if data != PROBE_BYTES:
            checks.append(ProbeCheck("read", ok=False, detail=f"{key} read back different bytes"))
        else:
            checks.append(ProbeCheck("read", ok=True, detail=f"read {key} back intact"))
        await volume.delete(key)
        if await volume.exists(key):
            checks.append(ProbeCheck("delete", ok=False, detail=f"{key} is still there"))
        else:
            checks.append(ProbeCheck("delete", ok=True, detail=f"deleted {key}"))
    except VolumeError as exc:
        checks.append(ProbeCheck(steps[len(checks)], ok=False, detail=str(exc)))
    return _not_checked(checks, steps)


def _not_checked(checks: list[ProbeCheck], steps: tuple[str, ...]) -> list[ProbeCheck]:
    failed = next((c.check for c in checks if not c.ok), None)
    done = {c.check for c in checks}
    rest = [
        ProbeCheck(step, ok=False, detail=f"not checked: {failed} failed")
        for step in steps
        if step not in done
    ]
    return checks + rest


async def answer_query(volumes: SealedVolumes, body: Any) -> Reply | QueryRefused:
    """The reply to one request (shared/queries/uploader.py); one that cannot be understood
    or answered is refused with the sentence why."""
    try:
        query = UploaderQueries.validate_python(body)
    except ValidationError as exc:
        return refused_for(exc)
    try:
        volume = open_volume_of(volumes, query.volume)
        match query:
            case TestVolume():
                checks = await probe(volume)
                log.info("volume_tested", failed=[c.check for c in checks if not c.ok])
                return ChecksReply(checks=[Check.model_validate(asdict(c)) for c in checks])
            case VolumeFreeSpace():
                usage = await volume.usage()
    except (VolumeError, VolumeUnusableError) as exc:
        return QueryRefused(error=str(exc))
    return FreeSpaceReply(free_bytes=usage.free_bytes, total_bytes=usage.total_bytes)
