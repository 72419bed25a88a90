"""A download as an HTTP answer: a 307 to the presigned URL, or the checked stream."""

from fastapi import status
from fastapi.responses import RedirectResponse, StreamingResponse

from services.api.checked_download import CheckedStreamingResponse
from services.api.usecases.downloads import Download

SHA256_HEADER = "x-databasement-sha256"
"""The artifact's sha256 as the catalog recorded it, on every download answer."""


def download_response(download: Download) -> StreamingResponse | RedirectResponse:
    if download.redirect is not None:
        return RedirectResponse(
            download.redirect,
            status_code=status.HTTP_307_TEMPORARY_REDIRECT,
            headers={SHA256_HEADER: download.sha256},
        )
    assert download.blocks is not None  # noqa: S101 - a download is a redirect or a stream
    return CheckedStreamingResponse(
        download.blocks,
        snapshot_id=str(download.snapshot_id),
        media_type=download.media_type,
        headers={
            "content-disposition": f'attachment; filename="{download.name}"',
            "content-length": str(download.size),
            SHA256_HEADER: download.sha256,
        },
    )
