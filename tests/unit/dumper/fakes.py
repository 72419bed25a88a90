"""In-memory stand-ins for the dumper's edges: a block source and a chunk sink."""

import asyncio
import threading
import time

from services.dumper.pipeline import Progress, StagedChunk


class BytesSource:
    """A dump tool whose whole output is `data`, handed out in reads of at most `read_size`."""

    def __init__(self, data: bytes, *, read_size: int = 65536) -> None:
        self._data = memoryview(data)
        self._offset = 0
        self._read_size = read_size
        self.killed = False

    def read_block(self, size: int) -> bytearray | None:
        block = bytearray()
        while len(block) < size and self._offset < len(self._data):
            take = min(self._read_size, size - len(block), len(self._data) - self._offset)
            block += self._data[self._offset : self._offset + take]
            self._offset += take
        return block or None

    def silent_for(self) -> float:
        return 0.0

    def kill(self) -> None:
        self.killed = True


class SilentSource:
    """A dump tool that never writes anything until it is killed."""

    def __init__(self) -> None:
        self._killed = threading.Event()
        self._since: float | None = None

    def read_block(self, _size: int) -> bytearray | None:
        self._since = time.monotonic()
        self._killed.wait(10)
        return None

    def silent_for(self) -> float:
        return 0.0 if self._since is None else time.monotonic() - self._since

    def kill(self) -> None:
        self._killed.set()


class MemorySink:
    """Keeps staged chunks; an optional 'uploader' takes each after `take_after` seconds."""

    def __init__(self, *, take_after: float | None = None) -> None:
        self.chunks: list[StagedChunk] = []
        self.progress: list[Progress] = []
        self.staged: set[int] = set()
        self.most_staged = 0
        self._take_after = take_after

    async def stage(self, chunk: StagedChunk) -> None:
        self.chunks.append(chunk)
        self.staged.add(chunk.seq)
        self.most_staged = max(self.most_staged, len(self.staged))
        if self._take_after is not None:
            asyncio.get_running_loop().call_later(self._take_after, self.staged.discard, chunk.seq)

    async def staged_count(self) -> int:
        return len(self.staged) if self._take_after is not None else 0

    async def progressed(self, progress: Progress) -> None:
        self.progress.append(progress)
