"""Read a stored artifact back: its manifest, its chunks checked against their sha256, and
the compressed stream turned back into the dump's text, block by block.

Pure logic over an async stream of blocks; the volume behind the stream is not known here.
"""

import hashlib
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, cast
from uuid import UUID

import zstandard
from isal import isal_zlib
from pydantic import ValidationError

from services.dumper.tools import major_version
from shared.encryption import ChunkOpener, EncryptionError, Keyring, unwrap_data_key
from shared.events import Encryption

INPUT_SLICE = 256 * 1024
"""Compressed bytes inflated per call: the output of one call is bounded by the members'
and frames' own size (the dumper writes one per block of a few MiB)."""


INFLATE_ERRORS: tuple[type[Exception], ...] = (
    zlib.error,
    cast("type[Exception]", isal_zlib.error),  # the stub types it as an instance
    zstandard.ZstdError,
)


UNBOUNDED = 1 << 62


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
    encryption: Encryption | None = None
    """Present when every chunk is a sealed frame (docs/encryption.md)."""

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
            encryption=_encryption(body.get("encryption")),
        )
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
        raise ArtifactError(f"manifest unreadable: {key}") from None
    offset = 0
    for index, chunk in enumerate(manifest.chunks):
        if chunk.seq != index or chunk.offset != offset or chunk.size <= 0:
            raise ArtifactError(f"manifest unreadable: {key} (chunk list is not contiguous)")
        offset += chunk.size
    if offset != manifest.size:
        raise ArtifactError(f"manifest unreadable: {key} (chunks do not add up to its size)")
    return manifest


def _encryption(block: object) -> Encryption | None:
    return None if block is None else Encryption.model_validate(block)


class ChunkDecrypter:
    """Opens an encrypted artifact's chunks, each one sealed frame (docs/encryption.md)."""

    def __init__(self, opener: ChunkOpener) -> None:
        self._opener = opener

    def __call__(self, chunk: ChunkEntry, data: bytes) -> bytes:
        """Chunk `chunk`'s compressed bytes; ArtifactError "cannot decrypt: chunk N is corrupt"."""
        try:
            return self._opener.open(chunk.seq, data)
        except EncryptionError as exc:
            raise ArtifactError(str(exc)) from None


def decrypter_for(
    manifest: Manifest, keyring: Keyring | None, snapshot_id: UUID
) -> ChunkDecrypter | None:
    """None for a plain artifact; for an encrypted one, its chunks' decrypter.

    The data key is unwrapped here, before anything is read or fed to a client: a wrong key
    is an ArtifactError "cannot decrypt: wrong key".
    """
    if manifest.encryption is None:
        return None
    if keyring is None:
        raise ArtifactError(
            "cannot decrypt: the snapshot is encrypted and DUMPER_MASTER_KEYS is not set"
        )
    try:
        data_key = unwrap_data_key(
            manifest.encryption.wrapped_key,
            keyring,
            snapshot_id,
            key_id=manifest.encryption.key_id,
        )
    except EncryptionError as exc:
        raise ArtifactError(str(exc)) from None
    return ChunkDecrypter(ChunkOpener(data_key, snapshot_id))


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

    def decompress(self, data: memoryview) -> bytes: ...


class _Bounded(Protocol):
    """gzip's inflater: stops at `max_length` bytes and keeps the rest of the input."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: memoryview, max_length: int = 0) -> bytes: ...


class Decompressor:
    """gzip members or zstd frames, possibly concatenated, back into the dump's bytes."""

    def __init__(self, compression: str) -> None:
        if compression not in {"gzip", "zstd"}:
            raise ArtifactError(f"unknown compression {compression!r} in the manifest")
        self._compression = compression
        self._inflater = self._new()
        self._started = False
        self._input = memoryview(b"")

    def _new(self) -> _Inflater | _Bounded:
        if self._compression == "gzip":
            inflater: _Bounded = isal_zlib.decompressobj(wbits=31)
            return inflater
        return zstandard.ZstdDecompressor().decompressobj()

    def push(self, data: bytes) -> None:
        """Queue compressed bytes for `take`."""
        self._input = memoryview(bytes(self._input) + data if self._input else data)

    def take(self, limit: int) -> bytes:
        """Uncompressed bytes from the pushed input, at most about `limit` (gzip exactly;
        zstd up to the end of a frame, one block of the dumper's); b"" once it is used up."""
        out: list[bytes] = []
        size = 0
        try:
            while size < limit and self._input:
                inflated, used = self._step(self._input[:INPUT_SLICE], limit - size)
                self._input = self._input[used:]
                out.append(inflated)
                size += len(inflated)
        except INFLATE_ERRORS as exc:
            raise ArtifactError(
                f"artifact does not decompress as {self._compression}: {exc}"
            ) from None
        return b"".join(out)

    def feed(self, data: bytes) -> bytes:
        """All the uncompressed bytes `data` completes."""
        self.push(data)
        out: list[bytes] = []
        while piece := self.take(UNBOUNDED):
            out.append(piece)
        return b"".join(out)

    def _step(self, data: memoryview, room: int) -> tuple[bytes, int]:
        """Inflate from `data`, at most `room` bytes (gzip); the output and input used."""
        self._started = True
        inflater = self._inflater
        if self._compression == "gzip":
            gzip = cast("_Bounded", inflater)
            out = gzip.decompress(data, room if room < UNBOUNDED else 0)
            left = len(gzip.unconsumed_tail)
        else:
            out, left = inflater.decompress(data), 0
        if inflater.eof:
            left = len(inflater.unused_data)
            self._inflater = self._new()
            self._started = False
        return out, len(data) - left

    def finish(self) -> None:
        """ArtifactError if the stream stopped inside a member or frame."""
        if self._started:
            raise ArtifactError(f"artifact ends inside a {self._compression} member")
