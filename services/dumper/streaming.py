"""The artifact turned back into the dump's text, running ahead of the client tool.

    volume blocks --cut--> chunk --sha256 (+ decrypt) (thread)--> inflate in slices (thread)
        --pieces of a few MiB, a few ahead--> the restore feeds them to psql / mysql

Reading, checking and inflating the next pieces overlaps with the client consuming the
previous ones, so a restore runs at about the client's own speed. A chunk is checked
before any of its bytes are inflated: nothing unverified reaches the target. Memory stays
bounded by `ahead` pieces plus one chunk.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

from services.dumper.artifact import (
    ArtifactError,
    ChunkEntry,
    Decompressor,
    Manifest,
    check_chunk,
    chunks_of,
)
from shared.volumes import ObjectMissingError

Decrypt = Callable[[ChunkEntry, bytes], bytes]
"""An encrypted artifact's chunk (checked) -> its compressed bytes."""

PIECE = 4 * 1024 * 1024
AHEAD = 4


class _End:
    pass


_END = _End()


class InflatedArtifact:
    """`async with` it, then `await next_piece()` until it returns None.

    A problem with the artifact (ArtifactError) or the volume (VolumeError) is raised by
    `next_piece`, after the pieces before it.
    """

    def __init__(
        self,
        blocks: AsyncIterator[bytes],
        manifest: Manifest,
        *,
        piece: int = PIECE,
        ahead: int = AHEAD,
        decrypt: Decrypt | None = None,
    ) -> None:
        self._blocks = blocks
        self._decrypt = decrypt
        self._manifest = manifest
        self._piece = piece
        self._queue: asyncio.Queue[bytes | BaseException | _End] = asyncio.Queue(ahead)
        self._producer: asyncio.Task[None] | None = None
        self.bytes_read = 0
        """Compressed bytes read and checked."""
        self.chunks_verified = 0

    async def __aenter__(self) -> Self:
        self._producer = asyncio.create_task(self._produce())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._producer is not None:
            self._producer.cancel()
            await asyncio.wait([self._producer])
        await close_stream(self._blocks)

    async def next_piece(self) -> bytes | None:
        """The next uncompressed bytes in order; None after the last."""
        item = await self._queue.get()
        if isinstance(item, _End):
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    async def _produce(self) -> None:
        try:
            decompressor = Decompressor(self._manifest.compression)
            async for chunk, data in chunks_of(self._blocks, self._manifest):
                opened = await asyncio.to_thread(self._open, chunk, data)
                self.bytes_read += len(data)
                self.chunks_verified += 1
                decompressor.push(opened)
                while piece := await asyncio.to_thread(decompressor.take, self._piece):
                    await self._queue.put(piece)
            decompressor.finish()
        except Exception as exc:  # handed to the consumer, raised there
            await self._queue.put(exc)
            return
        await self._queue.put(_END)

    def _open(self, chunk: ChunkEntry, data: bytes) -> bytes:
        """The chunk checked against its sha256, then decrypted when the artifact is sealed."""
        check_chunk(chunk, data)
        return data if self._decrypt is None else self._decrypt(chunk, data)


async def close_stream(blocks: AsyncIterator[bytes]) -> None:
    """Close a volume's block stream early (an S3 response goes back to its pool)."""
    aclose = getattr(blocks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):  # releasing the stream is best effort
            await aclose()


async def read_bounded(blocks: AsyncIterator[bytes], key: str, *, limit: int) -> bytes:
    """The object `key` from its stream, refused once it passes `limit` bytes: a huge object
    planted as a manifest costs no more memory than the limit."""
    pieces: list[bytes] = []
    held = 0
    try:
        async for block in blocks:
            held += len(block)
            if held > limit:
                raise ArtifactError(f"manifest refused: {key} is larger than {limit} bytes")
            pieces.append(block)
    except ObjectMissingError:
        raise ArtifactError(f"manifest missing: {key}") from None
    finally:
        await close_stream(blocks)
    return b"".join(pieces)
