"""Compress one block of dump output into one self-contained gzip member or zstd frame.

Blocks compress independently on a thread pool (the libraries release the GIL), and their
concatenation is one valid `.gz` / `.zst`. zstd compressors are not thread-safe (sharing one
crashed the interpreter, BASELINES.md), so each thread keeps its own.
"""

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

import zstandard
from isal import isal_zlib

from shared.events import Compression

Block: TypeAlias = bytes | bytearray | memoryview
Compress: TypeAlias = Callable[[Block], bytes]

GZIP_WBITS = 31
"""zlib window bits that make a gzip header and trailer."""


@dataclass(frozen=True)
class CompressionOptions:
    """Which engine and level each format uses."""

    gzip_engine: Literal["isal", "zlib"] = "isal"
    isal_level: int = 2
    zlib_level: int = 6
    zstd_level: int = 3

    def at_level(self, compression: Compression, level: int | None) -> "CompressionOptions":
        """These options with a backup's own level; the defaults when it has none.

        The api validates the level (gzip 0-3 on ISA-L's scale, zstd 1-19); a gzip level goes
        to whichever gzip engine is configured.
        """
        if level is None:
            return self
        if compression == "zstd":
            return replace(self, zstd_level=level)
        return replace(self, isal_level=level, zlib_level=level)


def block_compressor(compression: Compression, options: CompressionOptions) -> Compress:
    """A function, safe to call from many threads at once, that compresses one block."""
    if compression == "zstd":
        return _ZstdPerThread(options.zstd_level)
    if options.gzip_engine == "isal":
        isal_level = options.isal_level

        def isal_member(block: Block) -> bytes:
            member: bytes = isal_zlib.compress(block, isal_level, wbits=GZIP_WBITS)
            return member

        return isal_member
    zlib_level = options.zlib_level

    def zlib_member(block: Block) -> bytes:
        return zlib.compress(block, zlib_level, wbits=GZIP_WBITS)

    return zlib_member


class _ZstdPerThread:
    """One ZstdCompressor per thread; each call writes one frame carrying its content size."""

    def __init__(self, level: int) -> None:
        self._level = level
        self._local = threading.local()

    def __call__(self, block: Block) -> bytes:
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            compressor = zstandard.ZstdCompressor(level=self._level)
            self._local.compressor = compressor
        frame: bytes = compressor.compress(block)
        return frame
