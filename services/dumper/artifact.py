"""Read a stored artifact back: its manifest, its chunks checked against their sha256, and
the compressed stream turned back into the dump's text, block by block.

Pure logic over an async stream of blocks; the volume behind the stream is not known here.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from services.dumper.decompression import Decompressor
from services.dumper.errors import ArtifactError
from services.dumper.tools import major_version
from shared.anchors import MANIFEST_LIMIT, mismatch
from shared.encryption import ChunkOpener, EncryptionError, Keyring, unwrap_data_key
from shared.encryption.frames import FrameSequence
from shared.events import ArtifactAnchor, Encryption

__all__ = [
    "MANIFEST_LIMIT",
    "ArtifactError",
    "ChunkDecrypter",
    "ChunkEntry",
    "Decompressor",
    "Manifest",
    "check_anchor",
    "check_chunk",
    "chunks_of",
    "decrypter_for",
    "parse_manifest",
]


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


def manifest_body(data: bytes, key: str) -> dict[str, Any]:
    """The JSON object of a manifest; ArtifactError when it is too large or no object."""
    if len(data) > MANIFEST_LIMIT:
        raise ArtifactError(
            f"manifest refused: {key} is {len(data)} bytes, more than {MANIFEST_LIMIT}"
        )
    try:
        body = json.loads(data)
    except ValueError:
        raise ArtifactError(f"manifest unreadable: {key}") from None
    if not isinstance(body, dict):
        raise ArtifactError(f"manifest unreadable: {key}")
    return body


def check_anchor(body: dict[str, Any], anchor: ArtifactAnchor | None, *, artifact_key: str) -> None:
    """ArtifactError unless the volume's manifest is the one the catalog recorded."""
    if anchor is None:
        raise ArtifactError(
            "the request carries no catalog record of the artifact to check it against "
            "(it was sent by an older api); request it again"
        )
    reason = mismatch(anchor, body, artifact_key=artifact_key)
    if reason is not None:
        raise ArtifactError(reason)


def parse_manifest(data: bytes | dict[str, Any], key: str) -> Manifest:
    """The manifest in `data` (read from `key`); ArtifactError when it does not add up."""
    body = data if isinstance(data, dict) else manifest_body(data, key)
    try:
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
    """Opens an encrypted artifact's chunks, each one sealed frame (docs/encryption.md), in
    order; a version 2 frame must carry the FINAL mark exactly when it is the last chunk."""

    def __init__(self, opener: ChunkOpener, *, chunk_count: int) -> None:
        self._opener = opener
        self._last = chunk_count - 1
        self._sequence = FrameSequence()

    def __call__(self, chunk: ChunkEntry, data: bytes) -> bytes:
        """Chunk `chunk`'s compressed bytes; ArtifactError "cannot decrypt: chunk N is corrupt"."""
        try:
            frame = self._opener.open_frame(chunk.seq, data)
            self._sequence.add(chunk.seq, frame, last=chunk.seq == self._last)
        except EncryptionError as exc:
            raise ArtifactError(str(exc)) from None
        return frame.data


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
    opener = ChunkOpener(data_key, snapshot_id)
    return ChunkDecrypter(opener, chunk_count=len(manifest.chunks))


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
