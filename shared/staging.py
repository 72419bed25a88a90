"""The staging area between dumper and uploader: a shared directory or an S3 bucket.

Keys look like `<snapshot_id>/<attempt_id>/<seq>.chunk`, so one attempt's chunks can be
counted (back-pressure) and discarded together (a dead attempt never mixes in).
"""

import asyncio
import os
import shutil
from pathlib import Path
from typing import Protocol
from uuid import UUID

from shared.settings import StagingSettings


class StagingError(Exception):
    """The staging area cannot be read or written; the message says why in words."""


def chunk_key(snapshot_id: UUID, attempt_id: UUID, seq: int) -> str:
    """Where chunk `seq` of one attempt is staged."""
    return f"{snapshot_id}/{attempt_id}/{seq:06d}.chunk"


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
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StagingError(
                f"cannot write to the staging area {self.root}: {exc.strerror}"
            ) from exc

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.local_path(key).read_bytes)
        except OSError as exc:
            raise StagingError(f"staged chunk {key} cannot be read: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.local_path(key).unlink, missing_ok=True)

    async def count(self, prefix: str) -> int:
        folder = self.root / prefix
        return await asyncio.to_thread(
            lambda: sum(1 for p in folder.glob("*.chunk")) if folder.is_dir() else 0
        )

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.root / prefix

        def remove() -> int:
            if not folder.is_dir():
                return 0
            removed = sum(1 for _ in folder.rglob("*.chunk"))
            shutil.rmtree(folder, ignore_errors=True)
            return removed

        return await asyncio.to_thread(remove)


def open_staging(settings: StagingSettings) -> StagingArea:
    """The staging area the settings name."""
    if settings.kind == "local":
        return LocalStaging(settings.path)
    raise StagingError("S3 staging is not available in this build")  # replaced by the S3 driver
