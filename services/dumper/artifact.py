"""Read a stored artifact back: its manifest, its chunks checked against their sha256, and
the compressed stream turned back into the dump's text, block by block.

Pure logic over an async stream of blocks; the volume behind the stream is not known here.
"""

import hashlib
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import zstandard

from services.dumper.tools import major_version


class ArtifactError(Exception):
    """The artifact or its manifest cannot be restored; the message is a sentence."""


@dataclass(frozen=True)
class ChunkEntry:
    """One chunk the manifest lists: where it sits in the artifact and its checksum."""

    seq: int
    offset: int
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a restore needs from the manifest written beside the artifact."""

    compression: str
    size: int
    tool: str
    tool_version: str
    table_rows: dict[str, int]
    chunks: tuple[ChunkEntry, ...]

    @property
    def tool_major(self) -> int | None:
        """The dump tool's major version, e.g. 16 for `pg_dump (PostgreSQL) 16.4`."""
        return major_version(self.tool_version.split(")", 1)[-1])


def parse_manifest(data: bytes, key: str) -> Manifest:
    """The manifest in `data` (read from `key`); ArtifactError when it does not add up."""
    try:
        body: dict[str, Any] = json.loads(data)
        chunks = tuple(
            ChunkEntry(
                seq=int(c["seq"]), offset=int(c["offset"]), size=int(c["size"]), sha256=c["sha256"]
            )
            for c in body["chunks"]
        )
        manifest = Manifest(
            compression=str(body["compression"]),
            size=int(body["size"]),
            tool=str(body.get("tool", "")),
            tool_version=str(body.get("tool_version", "")),
            table_rows={str(k): int(v) for k, v in (body.get("table_rows") or {}).items()},
            chunks=chunks,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArtifactError(f"manifest unreadable: {key}") from None
    offset = 0
    for index, chunk in enumerate(manifest.chunks):
        if chunk.seq != index or chunk.offset != offset or chunk.size <= 0:
            raise ArtifactError(f"manifest unreadable: {key} (chunk list is not contiguous)")
        offset += chunk.size
    if offset != manifest.size:
        raise ArtifactError(f"manifest unreadable: {key} (chunks do not add up to its size)")
    return manifest


def check_chunk(chunk: ChunkEntry, data: bytes) -> None:
    """ArtifactError unless `data` is the chunk the manifest describes."""
    if len(data) < chunk.size:
        raise ArtifactError(f"artifact truncated at chunk {chunk.seq}")
    if hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise ArtifactError(f"artifact corrupt at chunk {chunk.seq}: sha256 does not match")


async def chunks_of(
    blocks: AsyncIterator[bytes], manifest: Manifest
) -> AsyncIterator[tuple[ChunkEntry, bytes]]:
    """Cut the artifact stream into the manifest's chunks (unchecked), in order.

    A stream that ends early yields the short last chunk (check_chunk names it truncated);
    one longer than the manifest says is corrupt.
    """
    pending: list[bytes] = []
    held = 0
    exhausted = False
    for chunk in manifest.chunks:
        while held < chunk.size and not exhausted:
            block = await anext(blocks, None)
            if block is None:
                exhausted = True
            else:
                pending.append(block)
                held += len(block)
        joined = b"".join(pending)
        data, rest = joined[: chunk.size], joined[chunk.size :]
        pending, held = ([rest], len(rest)) if rest else ([], 0)
        yield chunk, data
        if len(data) < chunk.size:
            return
    if held or await anext(blocks, None) is not None:
        raise ArtifactError("artifact corrupt: it is longer than its manifest says")


class _Inflater(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


class Decompressor:
    """gzip members or zstd frames, possibly concatenated, back into the dump's bytes."""

    def __init__(self, compression: str) -> None:
        if compression not in {"gzip", "zstd"}:
            raise ArtifactError(f"unknown compression {compression!r} in the manifest")
        self._compression = compression
        self._inflater = self._new()
        self._started = False

    def _new(self) -> _Inflater:
        if self._compression == "gzip":
            return zlib.decompressobj(wbits=31)
        return zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes:
        """The uncompressed bytes `data` completes."""
        out: list[bytes] = []
        try:
            while data:
                self._started = True
                out.append(self._inflater.decompress(data))
                if not self._inflater.eof:
                    break
                data = self._inflater.unused_data
                self._inflater = self._new()
                self._started = False
        except (zlib.error, zstandard.ZstdError) as exc:
            raise ArtifactError(
                f"artifact does not decompress as {self._compression}: {exc}"
            ) from None
        return b"".join(out)

    def finish(self) -> None:
        """ArtifactError if the stream stopped inside a member or frame."""
        if self._started:
            raise ArtifactError(f"artifact ends inside a {self._compression} member")
