"""Reading a staged chunk once for every volume that stores it."""

import asyncio
import hashlib
from pathlib import Path

from services.uploader.errors import CorruptChunkError
from shared.events import ChunkStaged
from shared.staging import StagedChunkMissingError, StagingArea
from shared.volumes import StagedChunk


class StagedReader:
    """The staged chunk of `event`, verified against its sha256 once, then reused per copy.

    `movable` says whether a local volume may rename the staged file into place: only when
    a single volume stores it, since a renamed file is gone for the other copies.
    """

    def __init__(self, staging: StagingArea, event: ChunkStaged, *, movable: bool) -> None:
        self._staging = staging
        self._event = event
        self._movable = movable
        self._read_once = False
        self._chunk: StagedChunk | None = None

    async def read(self) -> StagedChunk | None:
        """The verified chunk; None when it is gone; `CorruptChunkError` when it differs."""
        if not self._read_once:
            self._chunk = await self._read()
            self._read_once = True
        return self._chunk

    async def _read(self) -> StagedChunk | None:
        event = self._event
        path = self._staging.local_path(event.staged_key)
        data: bytes | None = None
        try:
            if path is not None:
                digest, size = await asyncio.to_thread(_file_digest, path)
            else:
                data = await self._staging.get(event.staged_key)
                digest = await asyncio.to_thread(lambda: hashlib.sha256(data or b"").hexdigest())
                size = len(data)
        except (FileNotFoundError, StagedChunkMissingError):
            return None
        if digest != event.sha256 or size != event.size:
            raise CorruptChunkError(f"staged chunk {event.seq} is corrupt")
        return StagedChunk(event.seq, size, digest, path=path, data=data, movable=self._movable)


def _file_digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return digest, handle.tell()
