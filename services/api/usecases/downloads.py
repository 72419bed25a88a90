"""Downloading a completed snapshot's artifact: a presigned URL (S3) or a checked stream
(local).

A stream is checked chunk by chunk against the catalog's manifest and cut at the first
mismatch (services/api/checked_download.py); either way the volume's manifest must be the one
the catalog recorded.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.anchoring import anchor_for
from services.api.checked_download import check_volume_manifest, checked_blocks, expected_chunks
from services.api.copies import readable_copy
from services.api.errors import ConflictError, NotFoundError
from services.api.keys import Keys
from services.api.usecases.snapshots import find_snapshot
from services.api.volumes import volume_spec
from shared.logging import get_logger
from shared.naming import manifest_key
from shared.volumes import S3Volume, open_volume

log = get_logger(__name__)

PRESIGNED_FOR = timedelta(minutes=15)
MEDIA_TYPES = {".gz": "application/gzip", ".zst": "application/zstd"}


@dataclass(frozen=True)
class Download:
    """The artifact, as a URL to fetch it from (`redirect`) or its checked `blocks`."""

    snapshot_id: UUID
    sha256: str
    size: int
    name: str
    media_type: str
    redirect: str | None = None
    blocks: AsyncIterator[bytes] | None = None


async def download_snapshot(
    snapshot_id: UUID,
    *,
    link: BrokerLink,
    requests: BackupRequests,
    servers: ServerRepository,
    volumes: VolumeRepository,
    keys: Keys,
) -> Download:
    """The completed snapshot's artifact from its first stored copy (ConflictError until it
    is completed, or when it cannot be read back)."""
    snapshot = await find_snapshot(snapshot_id, link=link, requests=requests, servers=servers)
    if snapshot.status != "completed" or snapshot.path is None:
        raise ConflictError(f"snapshot {snapshot_id} is {snapshot.status}; nothing to download")
    anchor = anchor_for(
        snapshot_id, manifest=snapshot.manifest, sha256=snapshot.sha256, size=snapshot.size
    )
    try:
        chunks = expected_chunks(snapshot.manifest or {})
    except ValueError as exc:
        raise ConflictError(f"snapshot {snapshot_id} cannot be read back: {exc}") from None
    readable = await readable_copy(snapshot, volumes)
    if readable is None:
        raise ConflictError(f"the volume of snapshot {snapshot_id} is no longer registered")
    store = open_volume(volume_spec(readable.volume, vault=keys.vault))
    key = readable.copy.path
    await check_volume_manifest(
        store,
        manifest_key=readable.copy.manifest_path or manifest_key(key),
        artifact_key=key,
        anchor=anchor,
    )
    found = Download(
        snapshot_id=snapshot_id,
        sha256=anchor.sha256,
        size=anchor.size,
        name=PurePosixPath(key).name,
        media_type=MEDIA_TYPES.get(PurePosixPath(key).suffix, "application/octet-stream"),
    )
    if isinstance(store, S3Volume):
        url = await store.presigned_url(key, expires=PRESIGNED_FOR)
        log.info("snapshot_download_redirected", snapshot_id=str(snapshot_id))
        return Download(**{**found.__dict__, "redirect": url})
    if not await store.exists(key):
        raise NotFoundError(f"the artifact of snapshot {snapshot_id} is missing from its volume")
    log.info("snapshot_download_streamed", snapshot_id=str(snapshot_id))
    return Download(**{**found.__dict__, "blocks": checked_blocks(store.open_stream(key), chunks)})
