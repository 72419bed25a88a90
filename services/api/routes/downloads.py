"""/api/v1/snapshots/{id}/download: the artifact, by redirect (S3) or streamed (local).

A streamed download is checked chunk by chunk against the catalog's manifest and cut at the
first mismatch (services/api/checked_download.py). A redirect hands the client the catalog's
sha256 in `X-Databasement-SHA256`; `databasement snapshots download` checks the file with it.
"""

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, StreamingResponse

from services.api.deps import Authenticated, Link, Requests, SecretKeys, Servers, Volumes
from services.api.download_response import download_response
from services.api.usecases.downloads import download_snapshot as download_snapshot_artifact

router = APIRouter(prefix="/api/v1/snapshots", tags=["snapshots"], dependencies=[Authenticated])


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
    download = await download_snapshot_artifact(
        snapshot_id, link=link, requests=requests, servers=servers, volumes=volumes, keys=keys
    )
    return download_response(download)
