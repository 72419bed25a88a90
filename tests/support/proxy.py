"""A TCP proxy on loopback that a test opens and closes: a broker that comes and goes, or a
database server whose answers arrive at a set rate (a dump that takes a while)."""

import asyncio
import contextlib
from collections.abc import Callable

from tests.support.env import free_port

BLOCK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target` while open; refuses connections while closed.

    `downstream_rate` (bytes per second from the target, None for no limit) may change at
    any time; it applies from the next block on.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.downstream_rate: float | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        """Stop listening and cut every connection in flight."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            try:
                await asyncio.gather(
                    _pipe(reader, upstream_writer),
                    _pipe(upstream_reader, writer, rate=lambda: self.downstream_rate),
                )
            finally:
                upstream_writer.close()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    rate: Callable[[], float | None] = lambda: None,
) -> None:
    with contextlib.suppress(OSError):
        while block := await reader.read(BLOCK):
            writer.write(block)
            await writer.drain()
            if (limit := rate()) is not None:
                await asyncio.sleep(len(block) / limit)  # the bandwidth itself, not a wait
    with contextlib.suppress(OSError):
        writer.write_eof()
