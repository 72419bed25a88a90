"""Run a native tool without a shell and read its stdout in big blocks, straight from the pipe.

Blocks are read with `readinto` on the raw pipe (in a worker thread, the GIL released while
it waits), into one preallocated buffer each: no copy between the pipe and the compressor.
"""

import asyncio
import contextlib
import fcntl
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from services.dumper.errors import ToolNotFoundError
from services.dumper.stderr import StderrTail

PIPE_SIZE = 1024 * 1024
"""A 1 MiB pipe (the unprivileged maximum) means fewer, bigger reads than the 64 KiB default."""
KILL_WAIT_SECONDS = 5.0


class ToolProcess:
    """One running dump tool: its stdout as blocks, its stderr's tail, its exit code."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = Path(argv[0]).name
        try:
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env),
                bufsize=0,
                start_new_session=True,  # a Ctrl-C of the dumper's terminal is ours to handle
            )
        except OSError as exc:
            raise ToolNotFoundError(f"{self.name} cannot be started: {exc.strerror}") from exc
        assert self._proc.stdout is not None  # noqa: S101 - stdout=PIPE guarantees it
        assert self._proc.stderr is not None  # noqa: S101
        self._stdout: IO[bytes] = self._proc.stdout
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self.stderr = StderrTail()
        self._stderr_reader = threading.Thread(
            target=self._drain_stderr, args=(self._proc.stderr,), daemon=True
        )
        self._stderr_reader.start()
        self._waiting_since: float | None = None

    def _drain_stderr(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.stderr.feed(line)

    def read_block(self, size: int) -> bytearray | None:
        """Up to `size` bytes of stdout (fewer only at the end); None at end of output."""
        buffer = bytearray(size)
        filled = 0
        with memoryview(buffer) as view:
            while filled < size:
                self._waiting_since = time.monotonic()
                count = self._stdout.readinto(view[filled:])  # type: ignore[attr-defined]
                if not count:
                    break
                filled += count
        self._waiting_since = None
        if filled == 0:
            return None
        if filled < size:
            del buffer[filled:]
        return buffer

    def silent_for(self) -> float:
        """Seconds the reader has been waiting for output; 0 while it is not reading."""
        since = self._waiting_since
        return 0.0 if since is None else time.monotonic() - since

    def kill(self) -> None:
        """Kill the tool now (idempotent)."""
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def wait(self) -> int:
        """The exit code, once the tool has exited and its stderr is read."""
        code = await asyncio.to_thread(self._proc.wait)
        await asyncio.to_thread(self._stderr_reader.join, KILL_WAIT_SECONDS)
        return code

    def close(self) -> None:
        """Kill if still running, reap, and close the pipes; safe in any `finally`."""
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(KILL_WAIT_SECONDS)
        self._stdout.close()
        self._stderr_reader.join(KILL_WAIT_SECONDS)
        if self._proc.stderr is not None:
            self._proc.stderr.close()


async def run_captured(
    argv: Sequence[str], env: Mapping[str, str], *, within: float
) -> tuple[int, str, str]:
    """Run a short command (a version probe, a query); (exit code, stdout, stderr)."""
    name = Path(argv[0]).name
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
        )
    except OSError as exc:
        raise ToolNotFoundError(f"{name} cannot be started: {exc.strerror}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -9, "", f"{name} gave no answer within {within:g} s"
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    code = proc.returncode if proc.returncode is not None else -1
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
