"""The staging area between dumper and uploader: a shared directory or an S3 bucket.

Keys look like `<snapshot_id>/<attempt_id>/<seq>.chunk`, so one attempt's chunks can be
counted (back-pressure) and discarded together (a dead attempt never mixes in).
"""

import asyncio
import contextlib
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar
from uuid import UUID

from minio import Minio
from minio.deleteobjects import DeleteObject

from shared.settings import StagingSettings
from shared.volumes import ObjectMissingError
from shared.volumes.s3client import bare_endpoint, build_client, explain, read_object

T = TypeVar("T")


class StagingError(Exception):
    """The staging area cannot be read or written; the message says why in words."""


class StagedChunkMissingError(StagingError):
    """The key asked for is not (or no longer) in the staging area."""


def attempt_prefix(snapshot_id: UUID, attempt_id: UUID | None = None) -> str:
    """The prefix holding one attempt's chunks, or every attempt of a snapshot."""
    return f"{snapshot_id}/" if attempt_id is None else f"{snapshot_id}/{attempt_id}/"


class StagingArea(Protocol):
    """Where chunks wait between the dumper and the uploader."""

    async def put(self, key: str, data: bytes) -> None:
        """Store `data` durably under `key`; a reader never sees it half-written."""

    async def get(self, key: str) -> bytes:
        """The bytes staged under `key`."""

    async def delete(self, key: str) -> None:
        """Remove `key`; missing is fine."""

    async def count(self, prefix: str) -> int:
        """How many chunks are staged under `prefix`."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove everything under `prefix`; returns how many were removed."""

    def local_path(self, key: str) -> Path | None:
        """The file behind `key` when staging is a local directory (for rename), else None."""


class LocalStaging:
    """A directory that dumper and uploader both mount."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def local_path(self, key: str) -> Path:
        """The file behind `key`, refused unless it lies inside the staging root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise StagingError("a staged key must name a file inside the staging area")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self.local_path(key)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except OSError as exc:
            with contextlib.suppress(OSError):  # the folder itself may be what failed
                tmp.unlink(missing_ok=True)
            raise StagingError(
                f"cannot write to the staging area {self.root}: {exc.strerror}"
            ) from exc

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.local_path(key).read_bytes)
        except FileNotFoundError as exc:
            raise StagedChunkMissingError(f"staged chunk {key} is not in the staging area") from exc
        except OSError as exc:
            raise StagingError(f"staged chunk {key} cannot be read: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.local_path(key).unlink, missing_ok=True)

    async def count(self, prefix: str) -> int:
        folder = self.local_path(prefix)
        # os.walk skips a folder removed while it is walked (the uploader deletes an attempt's
        # folder at any moment); rglob raised FileNotFoundError for it.
        return await asyncio.to_thread(
            lambda: sum(
                name.endswith(".chunk") for _, _, names in os.walk(folder) for name in names
            )
        )

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.local_path(prefix)

        def remove() -> int:
            # Two messages of one attempt may release it at once: os.walk skips what the other
            # removes meanwhile (rglob raised FileNotFoundError, and the UploadFailed due after
            # the release was never published).
            removed = sum(
                name.endswith(".chunk") for _, _, names in os.walk(folder) for name in names
            )
            shutil.rmtree(folder, ignore_errors=True)
            return removed

        return await asyncio.to_thread(remove)


class S3Staging:
    """A bucket that dumper and uploader both reach, when they run on different hosts.

    A PUT is atomic on S3, so a reader never sees half a chunk. Every blocking SDK call
    runs in a thread.
    """

    def __init__(self, *, bucket: str, endpoint: str, client: Minio) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self.client = client

    def local_path(self, key: str) -> Path | None:
        del key  # objects in a bucket have no local file to rename
        return None

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except Exception as exc:
            explained = explain(exc, endpoint=self.endpoint, bucket=self.bucket)
            if explained is None:
                raise
            if isinstance(explained, ObjectMissingError):
                raise StagedChunkMissingError(f"staging area: {explained}") from exc
            raise StagingError(f"staging area: {explained}") from exc

    async def put(self, key: str, data: bytes) -> None:
        await self._run(
            lambda: self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))
        )

    async def get(self, key: str) -> bytes:
        return await self._run(lambda: read_object(self.client, self.bucket, key))

    async def delete(self, key: str) -> None:
        await self._run(lambda: self.client.remove_object(self.bucket, key))

    async def count(self, prefix: str) -> int:
        return len(await self._run(lambda: self._chunk_names(prefix)))

    async def delete_prefix(self, prefix: str) -> int:
        def remove() -> int:
            names = self._chunk_names(prefix, only_chunks=False)
            if names:
                errors = list(
                    self.client.remove_objects(self.bucket, [DeleteObject(n) for n in names])
                )
                if errors:
                    raise StagingError(f"cannot delete staged chunks under {prefix}: {errors[0]}")
            return sum(1 for n in names if n.endswith(".chunk"))

        return await self._run(remove)

    def _chunk_names(self, prefix: str, *, only_chunks: bool = True) -> list[str]:
        listing = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        names = [item.object_name for item in listing if item.object_name]
        return [n for n in names if n.endswith(".chunk")] if only_chunks else names


def open_staging(settings: StagingSettings) -> StagingArea:
    """The staging area the settings name."""
    if settings.kind == "local":
        return LocalStaging(settings.path)
    if not settings.s3_endpoint or not settings.s3_bucket:
        raise StagingError("S3 staging needs STAGING_S3_ENDPOINT and STAGING_S3_BUCKET")
    client = build_client(
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key.get_secret_value(),
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region or None,
    )
    return S3Staging(
        bucket=settings.s3_bucket, endpoint=bare_endpoint(settings.s3_endpoint), client=client
    )
