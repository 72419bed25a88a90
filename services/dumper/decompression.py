"""gzip members or zstd frames, possibly concatenated, back into the dump's bytes, with the
output of every call bounded.

A stored artifact is input from outside the service: a chunk of a few KiB can claim to
inflate to gigabytes (a zstd or gzip bomb). Both formats are inflated through decompressors
that take an output limit (zlib's `max_length`, and zstd's from `backports.zstd`, the
`compression.zstd` of Python 3.14), so no call allocates more than the room it is given.
"""

import zlib
from typing import Protocol, cast

from backports import zstd
from isal import isal_zlib

from services.dumper.errors import ArtifactError

INPUT_SLICE = 256 * 1024
"""Compressed bytes handed to one gzip call."""
SLICE_OUTPUT = 8 * 1024 * 1024
"""The most uncompressed bytes one call produces, whatever the limit asked of `take`."""

INFLATE_ERRORS: tuple[type[Exception], ...] = (
    zlib.error,
    cast("type[Exception]", isal_zlib.error),  # the stub types it as an instance
    zstd.ZstdError,
)

UNBOUNDED = 1 << 62


class _Stream(Protocol):
    """One member or frame at a time: inflate at most `room` bytes of what it was given."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def step(self, data: memoryview, room: int) -> tuple[bytes, int]:
        """Output (at most `room` bytes) and how many bytes of `data` it took."""

    @property
    def holds_output(self) -> bool:
        """Whether it has inflated input whose output it has not returned yet."""


class _GzipStream:
    """zlib's inflater keeps what it did not take in `unconsumed_tail`."""

    def __init__(self) -> None:
        self._inflater = isal_zlib.decompressobj(wbits=31)

    @property
    def eof(self) -> bool:
        return bool(self._inflater.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inflater.unused_data)

    @property
    def holds_output(self) -> bool:
        return False

    def step(self, data: memoryview, room: int) -> tuple[bytes, int]:
        out = self._inflater.decompress(data[:INPUT_SLICE], room)
        return out, min(len(data), INPUT_SLICE) - len(self._inflater.unconsumed_tail)


class _ZstdStream:
    """zstd's decompressor takes all the input and holds what it has not inflated yet."""

    def __init__(self) -> None:
        self._inflater = zstd.ZstdDecompressor()

    @property
    def eof(self) -> bool:
        return self._inflater.eof

    @property
    def unused_data(self) -> bytes:
        return self._inflater.unused_data

    @property
    def holds_output(self) -> bool:
        return not self._inflater.needs_input and not self._inflater.eof

    def step(self, data: memoryview, room: int) -> tuple[bytes, int]:
        if self.holds_output:
            return self._inflater.decompress(b"", max_length=room), 0
        return self._inflater.decompress(data, max_length=room), len(data)


class Decompressor:
    """gzip members or zstd frames, possibly concatenated, back into the dump's bytes."""

    def __init__(self, compression: str) -> None:
        if compression not in {"gzip", "zstd"}:
            raise ArtifactError(f"unknown compression {compression!r} in the manifest")
        self._compression = compression
        self._stream = self._new()
        self._started = False
        self._input = memoryview(b"")

    def _new(self) -> _Stream:
        return _GzipStream() if self._compression == "gzip" else _ZstdStream()

    def push(self, data: bytes) -> None:
        """Queue compressed bytes for `take`."""
        self._input = memoryview(bytes(self._input) + data if self._input else data)

    def take(self, limit: int) -> bytes:
        """Uncompressed bytes from the pushed input, at most `limit`; b"" once it is used up.

        No single call inflates more than SLICE_OUTPUT bytes, so a bomb costs at most that
        much memory at a time, and the caller stops reading when it has enough.
        """
        out: list[bytes] = []
        size = 0
        try:
            while size < limit and (self._input or self._stream.holds_output):
                room = min(limit - size, SLICE_OUTPUT)
                inflated = self._step(room)
                out.append(inflated)
                size += len(inflated)
        except INFLATE_ERRORS as exc:
            raise ArtifactError(
                f"artifact does not decompress as {self._compression}: {exc}"
            ) from None
        return b"".join(out)

    def feed(self, data: bytes) -> bytes:
        """All the uncompressed bytes `data` completes (for small input: tests, tools)."""
        self.push(data)
        out: list[bytes] = []
        while piece := self.take(UNBOUNDED):
            out.append(piece)
        return b"".join(out)

    def _step(self, room: int) -> bytes:
        self._started = True
        stream = self._stream
        out, used = stream.step(self._input, room)
        self._input = self._input[used:]
        if stream.eof:
            # What followed the member or frame goes back in front of the input.
            rest = stream.unused_data
            self._input = memoryview(rest + bytes(self._input) if self._input else rest)
            self._stream = self._new()
            self._started = False
        return out

    def finish(self) -> None:
        """ArtifactError if the stream stopped inside a member or frame."""
        if self._started or self._stream.holds_output:
            raise ArtifactError(f"artifact ends inside a {self._compression} member")
