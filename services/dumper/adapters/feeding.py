"""The client tool a restore feeds: its stdin through the input guard, its stderr's tail."""

import asyncio
import contextlib

from services.dumper.client_input import InputGuard
from services.dumper.psql_guard import RefusedInputError
from services.dumper.stderr import StderrTail, tool_failure
from services.dumper.tools import Tool


class ClientFailedError(Exception):
    """The client tool stopped with an error; the message is a sentence."""


class FeedingClient:
    """A started client tool reading the dump on its stdin, through the input guard."""

    def __init__(
        self, process: asyncio.subprocess.Process, tool: Tool, secret: str, guard: InputGuard
    ) -> None:
        self._process = process
        self._tool = tool
        self._secret = secret
        self._guard = guard
        self._stderr = StderrTail()
        self._reader = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        stream = self._process.stderr
        assert stream is not None  # noqa: S101 - started with stderr=PIPE
        while block := await stream.read(65536):
            self._stderr.feed(block)

    def _failure(self, code: int) -> ClientFailedError:
        text = self._stderr.text
        return ClientFailedError(tool_failure(self._tool.name, code, text, secrets=(self._secret,)))

    async def write(self, data: bytes) -> None:
        """Pass `data` on; ClientFailedError if the guard refuses it (nothing of it sent)."""
        try:
            data = await asyncio.to_thread(self._guard.feed, data)
        except RefusedInputError as exc:
            raise ClientFailedError(str(exc)) from None
        await self._send(data)

    async def _send(self, data: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 - started with stdin=PIPE
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            code = await self._process.wait()
            await self._reader
            raise self._failure(code) from None

    async def finish(self) -> None:
        """Close stdin and wait; ClientFailedError unless the tool exited 0."""
        try:
            rest = self._guard.finish()
        except RefusedInputError as exc:
            raise ClientFailedError(str(exc)) from None
        await self._send(rest)
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 - started with stdin=PIPE
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()
            await stdin.wait_closed()
        code = await self._process.wait()
        await self._reader
        if code != 0:
            raise self._failure(code)

    async def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()
