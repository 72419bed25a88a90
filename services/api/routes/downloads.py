"""/api/v1/snapshots/{id}/download: the artifact, by redirect (S3) or streamed (local).

A streamed download is checked chunk by chunk against the catalog's manifest and cut at the
first mismatch (services/api/checked_download.py). A redirect hands the client the catalog's
sha256 in `X-Databasement-SHA256`; `databasement snapshots download` checks the file with it.
"""

from datetime import timedelta
from pathlib import PurePosixPath
from uuid import UUID

from fastapi import APIRouter, status
from fastapi.responses import RedirectResponse, StreamingResponse

from services.api.anchoring import anchor_for
from services.api.checked_download import (
    CheckedStreamingResponse,
    check_volume_manifest,
    checked_blocks,
    expected_chunks,
)
from services.api.copies import readable_copy
from services.api.deps import Authenticated, Link, Requests, SecretKeys, Servers, Volumes
from services.api.errors import ConflictError, NotFoundError
from services.api.routes.snapshots import find_snapshot
from services.api.volumes import volume_spec
from shared.logging import get_logger
from shared.naming import manifest_key
from shared.volumes import S3Volume, open_volume

router = APIRouter(prefix="/api/v1/snapshots", tags=["snapshots"], dependencies=[Authenticated])
log = get_logger(__name__)

PRESIGNED_FOR = timedelta(minutes=15)
MEDIA_TYPES = {".gz": "application/gzip", ".zst": "application/zstd"}
SHA256_HEADER = "x-databasement-sha256"
"""The artifact's sha256 as the catalog recorded it, on every download answer."""


@router.get(
    "/{snapshot_id}/download",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The artifact."},
        307: {"description": "A presigned GET URL of the artifact on S3, valid 15 minutes."},
    },
)
async def download_snapshot(
    snapshot_id: UUID,
    *,
    link: Link,
    requests: Requests,
    servers: Servers,
    volumes: Volumes,
    keys: SecretKeys,
) -> StreamingResponse | RedirectResponse:
    """Download a completed snapshot's artifact: a 307 to a presigned URL (valid 15 minutes)
    for an S3 volume, or the file streamed for a local one. 409 until it is completed."""
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
    readable = await readable_copy(snapshot, volumes)  # the first stored copy
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
    if isinstance(store, S3Volume):
        url = await store.presigned_url(key, expires=PRESIGNED_FOR)
        log.info("snapshot_download_redirected", snapshot_id=str(snapshot_id))
        return RedirectResponse(
            url,
            status_code=status.HTTP_307_TEMPORARY_REDIRECT,
            headers={SHA256_HEADER: anchor.sha256},
        )
    if not await store.exists(key):
        raise NotFoundError(f"the artifact of snapshot {snapshot_id} is missing from its volume")
    name = PurePosixPath(key).name
    log.info("snapshot_download_streamed", snapshot_id=str(snapshot_id))
    return CheckedStreamingResponse(
        checked_blocks(store.open_stream(key), chunks),
        snapshot_id=str(snapshot_id),
        media_type=MEDIA_TYPES.get(PurePosixPath(key).suffix, "application/octet-stream"),
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "content-length": str(anchor.size),
            SHA256_HEADER: anchor.sha256,
        },
    )
