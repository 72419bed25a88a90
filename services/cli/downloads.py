"""Downloading an artifact: from the API's stream, or from the presigned URL it redirects to.

Either way the whole file's sha256 is compared with the catalog's (the API sends it in
`X-Databasement-SHA256`, else the snapshot's record is asked): the bytes of a presigned URL
come straight from the bucket, which the API cannot check. A mismatch keeps no file and
exits 3.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from services.cli.client import TIMEOUT, Client, check, reason
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.render import err

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
SHA256_HEADER = "x-databasement-sha256"


def download(client: Client, snapshot_id: str, target: Path | None) -> Path:
    """Save the snapshot's artifact to `target` (a file or a directory); the path written."""
    with client.stream(f"/api/v1/snapshots/{snapshot_id}/download") as response:
        expected = response.headers.get(SHA256_HEADER)
        if not response.is_redirect:
            check(response)
            expected = expected or _recorded_sha256(client, snapshot_id)
            return _save(response, target, fallback=f"{snapshot_id}.sql.gz", sha256=expected)
        location = response.headers.get("location")
    if not location:
        raise CliError("the API redirected the download without a location")
    expected = expected or _recorded_sha256(client, snapshot_id)
    # The presigned URL carries its own signature: the API token is not sent to the store.
    with _store_stream(location) as remote:
        name = unquote(urlsplit(location).path.rsplit("/", 1)[-1]) or f"{snapshot_id}.sql.gz"
        return _save(remote, target, fallback=name, sha256=expected)


def _recorded_sha256(client: Client, snapshot_id: str) -> str:
    """The artifact's sha256 in the snapshot's record (an API that sends no header)."""
    recorded = client.get(f"/api/v1/snapshots/{snapshot_id}").get("sha256")
    if not recorded:
        raise CliError(f"snapshot {snapshot_id} has no sha256 recorded to check a download with")
    return str(recorded)


@contextmanager
def _store_stream(url: str) -> Iterator[httpx.Response]:
    host = urlsplit(url).netloc
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT) as response:
            if response.is_error:
                response.read()
                raise CliError(
                    f"the storage at {host} refused the download (HTTP {response.status_code})"
                )
            yield response
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach the storage at {host}: {reason(exc)}") from None


def _save(response: httpx.Response, target: Path | None, *, fallback: str, sha256: str) -> Path:
    check(response)
    name = _filename(response) or fallback
    path = target / name if target is not None and target.is_dir() else target or Path(name)
    partial = path.with_name(path.name + ".part")
    total = int(response.headers.get("content-length") or 0) or None
    digest = hashlib.sha256()
    try:
        with (
            partial.open("wb") as file,
            Progress(
                BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err, transient=True
            ) as progress,
        ):
            task = progress.add_task("download", total=total)
            for block in response.iter_bytes(1024 * 1024):
                file.write(block)
                digest.update(block)
                progress.advance(task, len(block))
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise CliError(
                f"the downloaded file does not match the catalog (sha256 {digest.hexdigest()}, "
                f"recorded {sha256}); nothing was kept",
                exit_code=EXIT_FAILED,
            )
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    except httpx.TransportError as exc:
        partial.unlink(missing_ok=True)
        raise CliError(
            f"the download broke off: {reason(exc)} (the API cuts a download whose data does "
            "not match the catalog)"
        ) from None
    return path


def _filename(response: httpx.Response) -> str | None:
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    if not match:
        return None
    name = Path(unquote(match.group(1))).name
    return name or None
