"""Sealed chunks: each compressed chunk becomes one self-delimiting AES-256-GCM frame.

    magic "DBME" (4) | version 1 (1) | nonce (12) | length (4, big-endian) | ciphertext+tag

`length` counts the ciphertext and its 16-byte tag. The associated data binds the frame to
its snapshot and its position (`seq`), and covers the header, so a frame moved to another
place or another snapshot, or a header altered, does not open. Frames are concatenated in
seq order; the artifact is their concatenation.
"""

import secrets
import struct
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.encryption.errors import CorruptChunkError

MAGIC = b"DBME"
VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER = struct.Struct(">4sB12sI")
MAX_SEALED = 1 << 30
"""No frame the dumper writes comes near this (chunks are a few MiB); a larger length is
damage, refused before any memory is taken for it."""

_CONTEXT = b"databasement/chunk/v1:"


def _associated(snapshot_id: UUID, seq: int, header: bytes) -> bytes:
    return _CONTEXT + snapshot_id.bytes + seq.to_bytes(8, "big") + header


class ChunkSealer:
    """Seals chunks of one snapshot under its data key; safe to call from several threads."""

    def __init__(self, data_key: bytes, snapshot_id: UUID) -> None:
        self._aead = AESGCM(data_key)
        self._snapshot_id = snapshot_id

    def seal(self, seq: int, data: bytes) -> bytes:
        """Chunk `seq`'s compressed bytes as one frame."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = HEADER.pack(MAGIC, VERSION, nonce, len(data) + TAG_BYTES)
        sealed = self._aead.encrypt(nonce, data, _associated(self._snapshot_id, seq, header))
        return header + sealed


class ChunkOpener:
    """Opens the frames of one snapshot under its data key."""

    def __init__(self, data_key: bytes, snapshot_id: UUID) -> None:
        self._aead = AESGCM(data_key)
        self._snapshot_id = snapshot_id

    def open(self, seq: int, frame: bytes | memoryview) -> bytes:
        """The compressed bytes of chunk `seq`, which must be exactly one whole frame.

        Raises:
            CorruptChunkError: the frame is damaged, cut, or not chunk `seq` of this snapshot.
        """
        view = memoryview(frame)
        length = frame_length(seq, view[: HEADER.size])
        if len(view) != HEADER.size + length:
            raise CorruptChunkError(seq, "its length does not match its header")
        header, sealed = bytes(view[: HEADER.size]), view[HEADER.size :]
        nonce = header[5 : 5 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed, _associated(self._snapshot_id, seq, header))
        except InvalidTag:
            raise CorruptChunkError(seq) from None


def frame_length(seq: int, header: bytes | bytearray | memoryview) -> int:
    """The sealed length a frame header announces; CorruptChunkError when it is no header."""
    if len(header) < HEADER.size:
        raise CorruptChunkError(seq, "it ends inside its header")
    magic, version, _nonce, length = HEADER.unpack(bytes(header[: HEADER.size]))
    if magic != MAGIC:
        raise CorruptChunkError(seq, "no frame starts there")
    if version != VERSION:
        raise CorruptChunkError(seq, f"unknown frame version {version}")
    if not TAG_BYTES <= length <= MAX_SEALED:
        raise CorruptChunkError(seq, "its length is impossible")
    return int(length)


class FrameReader:
    """Streaming: push the artifact's bytes in any pieces, take each chunk's plaintext.

    Holds at most one frame (one chunk) plus the piece pushed, whatever the artifact's size.
    """

    def __init__(self, opener: ChunkOpener, *, first_seq: int = 0) -> None:
        self._opener = opener
        self._buffer = bytearray()
        self.next_seq = first_seq

    def push(self, data: bytes | memoryview) -> list[bytes]:
        """The plaintexts of the frames `data` completes, in order."""
        self._buffer += data
        opened: list[bytes] = []
        while len(self._buffer) >= HEADER.size:
            total = HEADER.size + frame_length(self.next_seq, self._buffer[: HEADER.size])
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            opened.append(self._opener.open(self.next_seq, frame))
            self.next_seq += 1
        return opened

    def finish(self) -> None:
        """CorruptChunkError when the artifact ended inside a frame."""
        if self._buffer:
            raise CorruptChunkError(self.next_seq, "the artifact ends inside it")
