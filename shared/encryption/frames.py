"""Sealed chunks: each compressed chunk becomes one self-delimiting AES-256-GCM frame.

    version 2: magic "DBME" (4) | 2 (1) | flags (1) | nonce (12) | length (4) | ciphertext+tag
    version 1: magic "DBME" (4) | 1 (1) |             nonce (12) | length (4) | ciphertext+tag

`length` (big-endian) counts the ciphertext and its 16-byte tag. The associated data binds
the frame to its snapshot and its position (`seq`), and covers the header, so a frame moved
to another place or another snapshot, or a header altered, does not open. Version 2 marks the
artifact's last frame with the FINAL flag, which the header (and so the tag) covers: an
artifact whose trailing frames were dropped ends on a frame without it, and is refused.
Version 1 (written before) has no such mark and stays readable. Frames are concatenated in
seq order; the artifact is their concatenation.
"""

import secrets
import struct
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.encryption.errors import CorruptChunkError

MAGIC = b"DBME"
VERSION = 2
"""The version the dumper writes."""
NONCE_BYTES = 12
TAG_BYTES = 16
FINAL = 0x01
"""Flag of version 2: this frame is the artifact's last."""
HEADERS = {1: struct.Struct(">4sB12sI"), 2: struct.Struct(">4sBB12sI")}
HEADER = HEADERS[VERSION]
PREFIX = 5
"""magic and version: enough to know which header follows."""
MAX_SEALED = 1 << 30
"""No frame the dumper writes comes near this (chunks are a few MiB); a larger length is
damage, refused before any memory is taken for it."""

_CONTEXTS = {1: b"databasement/chunk/v1:", 2: b"databasement/chunk/v2:"}


@dataclass(frozen=True)
class FrameHeader:
    """What a frame's header says about it."""

    version: int
    final: bool
    nonce: bytes
    length: int
    """Ciphertext and tag."""
    size: int
    """Of the header itself."""

    @property
    def total(self) -> int:
        return self.size + self.length


@dataclass(frozen=True)
class OpenedFrame:
    """One frame's plaintext, and whether it is marked as the artifact's last."""

    data: bytes
    version: int
    final: bool


def _associated(version: int, snapshot_id: UUID, seq: int, header: bytes) -> bytes:
    return _CONTEXTS[version] + snapshot_id.bytes + seq.to_bytes(8, "big") + header


class ChunkSealer:
    """Seals chunks of one snapshot under its data key; safe to call from several threads."""

    def __init__(self, data_key: bytes, snapshot_id: UUID) -> None:
        self._aead = AESGCM(data_key)
        self._snapshot_id = snapshot_id

    def seal(self, seq: int, data: bytes, *, final: bool) -> bytes:
        """Chunk `seq`'s compressed bytes as one version 2 frame; `final` for the last."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        flags = FINAL if final else 0
        header = HEADER.pack(MAGIC, VERSION, flags, nonce, len(data) + TAG_BYTES)
        sealed = self._aead.encrypt(
            nonce, data, _associated(VERSION, self._snapshot_id, seq, header)
        )
        return header + sealed


class ChunkOpener:
    """Opens the frames of one snapshot under its data key."""

    def __init__(self, data_key: bytes, snapshot_id: UUID) -> None:
        self._aead = AESGCM(data_key)
        self._snapshot_id = snapshot_id

    def open(self, seq: int, frame: bytes | memoryview) -> bytes:
        """The compressed bytes of chunk `seq`, which must be exactly one whole frame."""
        return self.open_frame(seq, frame).data

    def open_frame(self, seq: int, frame: bytes | memoryview) -> OpenedFrame:
        """Chunk `seq`'s frame opened, with its version and FINAL mark.

        Raises:
            CorruptChunkError: the frame is damaged, cut, or not chunk `seq` of this snapshot.
        """
        view = memoryview(frame)
        head = read_header(seq, view)
        if len(view) != head.total:
            raise CorruptChunkError(seq, "its length does not match its header")
        header, sealed = bytes(view[: head.size]), view[head.size :]
        aad = _associated(head.version, self._snapshot_id, seq, header)
        try:
            data = self._aead.decrypt(head.nonce, sealed, aad)
        except InvalidTag:
            raise CorruptChunkError(seq) from None
        return OpenedFrame(data, head.version, head.final)


def read_header(seq: int, data: bytes | bytearray | memoryview) -> FrameHeader:
    """The header at the start of `data`; CorruptChunkError when it is no (whole) header."""
    if len(data) < PREFIX:
        raise CorruptChunkError(seq, "it ends inside its header")
    if bytes(data[:4]) != MAGIC:
        raise CorruptChunkError(seq, "no frame starts there")
    version = data[4]
    layout = HEADERS.get(version)
    if layout is None:
        raise CorruptChunkError(seq, f"unknown frame version {version}")
    if len(data) < layout.size:
        raise CorruptChunkError(seq, "it ends inside its header")
    fields = layout.unpack(bytes(data[: layout.size]))
    flags = fields[2] if version >= 2 else 0
    nonce, length = fields[-2], fields[-1]
    if flags & ~FINAL:
        raise CorruptChunkError(seq, f"unknown frame flags {flags:#x}")
    if not TAG_BYTES <= length <= MAX_SEALED:
        raise CorruptChunkError(seq, "its length is impossible")
    return FrameHeader(version, bool(flags & FINAL), bytes(nonce), int(length), layout.size)


def frame_length(seq: int, header: bytes | bytearray | memoryview) -> int:
    """The sealed length a frame header announces; CorruptChunkError when it is no header."""
    return read_header(seq, header).length


class FrameSequence:
    """The rules frames follow in one artifact: one version throughout; in version 2 the
    last frame, and only it, carries FINAL. Fed each opened frame in order."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._ended = False
        self.frames = 0

    def add(self, seq: int, frame: OpenedFrame, *, last: bool | None = None) -> None:
        """Account for frame `seq`; `last` when the caller knows whether it is the last.

        Raises:
            CorruptChunkError: a frame follows the final one, versions are mixed, or (with
                `last`) the FINAL mark is missing or misplaced.
        """
        if self._ended:
            raise CorruptChunkError(seq, "it follows the artifact's final frame")
        if self._version is not None and frame.version != self._version:
            raise CorruptChunkError(seq, "its frame version differs from the first frame's")
        self._version = frame.version
        self.frames += 1
        self._ended = frame.final
        if frame.version >= 2 and last is not None and frame.final != last:
            raise CorruptChunkError(
                seq,
                "it is marked as the last frame, but more are listed"
                if frame.final
                else "the artifact was cut after it: the last frame is missing",
            )

    def finish(self) -> None:
        """CorruptChunkError when a version 2 artifact ends without its final frame."""
        if self._version is not None and self._version >= 2 and not self._ended:
            raise CorruptChunkError(self.frames, "the artifact was cut: its final frame is missing")


class FrameReader:
    """Streaming: push the artifact's bytes in any pieces, take each chunk's plaintext.

    Holds at most one frame (one chunk) plus the piece pushed, whatever the artifact's size.
    """

    def __init__(self, opener: ChunkOpener, *, first_seq: int = 0) -> None:
        self._opener = opener
        self._buffer = bytearray()
        self._sequence = FrameSequence()
        self.next_seq = first_seq

    def push(self, data: bytes | memoryview) -> list[bytes]:
        """The plaintexts of the frames `data` completes, in order."""
        self._buffer += data
        opened: list[bytes] = []
        while len(self._buffer) >= PREFIX:
            head = read_header(self.next_seq, self._buffer) if self._whole_header() else None
            if head is None or len(self._buffer) < head.total:
                break
            frame = bytes(self._buffer[: head.total])
            del self._buffer[: head.total]
            result = self._opener.open_frame(self.next_seq, frame)
            self._sequence.add(self.next_seq, result)
            opened.append(result.data)
            self.next_seq += 1
        return opened

    def _whole_header(self) -> bool:
        layout = HEADERS.get(self._buffer[4])
        return layout is None or len(self._buffer) >= layout.size

    def finish(self) -> None:
        """CorruptChunkError when the artifact ended inside a frame, or (version 2) before
        its final frame."""
        if self._buffer:
            raise CorruptChunkError(self.next_seq, "the artifact ends inside it")
        self._sequence.finish()
