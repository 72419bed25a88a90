"""Post-backup and post-restore hooks: a configuration's command, run after the end.

The command is an argv list run without a shell, with only PATH and the snapshot's facts
(`DATABASEMENT_*`) in its environment: never the api's own environment, which holds its
keys. A non-zero exit or a timeout is a warning on the snapshot (SnapshotWarned through the
outbox), never a failure. Hooks run beside the event handling, so a slow hook delays
nothing; one interrupted by an api restart is not run again (docs/notifications.md).
"""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID

from shared.events import SnapshotWarned
from shared.logging import get_logger

log = get_logger(__name__)
HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Source = Literal["post_backup_hook", "post_restore_hook"]
Warn = Callable[[SnapshotWarned], Awaitable[None]]


def hook_environment(facts: dict[str, Any]) -> dict[str, str]:
    """PATH and `DATABASEMENT_<FACT>` for each known fact. Pure."""
    env = {"PATH": HOOK_PATH}
    for key, value in facts.items():
        if value is not None:
            env[f"DATABASEMENT_{key.upper()}"] = str(value)
    return env


def outcome(
    argv: list[str], returncode: int | None, *, timed_out: bool, timeout: float
) -> str | None:
    """The warning sentence for how a hook ended; None when it succeeded. Pure."""
    name = argv[0] if argv else "(empty)"
    if timed_out:
        return f"hook {name} did not finish within {timeout:g} s and was killed"
    if returncode:
        return f"hook {name} exited with code {returncode}"
    return None


class HookRunner:
    """Starts hooks in the background and warns about the ones that fail."""

    def __init__(self, warn: Warn, *, timeout: float) -> None:
        self.warn = warn
        self.timeout = timeout
        self.running: set[asyncio.Task[None]] = set()

    def start(
        self,
        argv: list[str],
        facts: dict[str, Any],
        *,
        source: Source,
        snapshot_id: UUID,
        restore_id: UUID | None = None,
    ) -> None:
        if not argv:
            return
        task = asyncio.create_task(self.run(argv, facts, source, snapshot_id, restore_id))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def run(
        self,
        argv: list[str],
        facts: dict[str, Any],
        source: Source,
        snapshot_id: UUID,
        restore_id: UUID | None,
    ) -> None:
        returncode, timed_out, error = await self._execute(argv, hook_environment(facts))
        sentence = error or outcome(argv, returncode, timed_out=timed_out, timeout=self.timeout)
        log.info(
            "hook_finished",
            source=source,
            snapshot_id=str(snapshot_id),
            exit_code=returncode,
            timed_out=timed_out,
            warned=sentence is not None,
        )
        if sentence is None:
            return
        warning = SnapshotWarned(
            snapshot_id=snapshot_id,
            source=source,
            message=sentence,
            restore_id=restore_id,
            exit_code=None if timed_out else returncode,
        )
        await self.warn(warning)

    async def _execute(
        self, argv: list[str], env: dict[str, str]
    ) -> tuple[int | None, bool, str | None]:
        """(exit code, timed out, a sentence when it could not even start)."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # so a timeout kills what the hook started too
            )
        except OSError as exc:
            return (
                None,
                False,
                f"hook {argv[0]} could not start: {exc.strerror or type(exc).__name__}",
            )
        try:
            async with asyncio.timeout(self.timeout):
                return await process.wait(), False, None
        except TimeoutError:
            _kill_group(process.pid)
            await process.wait()
            return None, True, None
        except asyncio.CancelledError:
            _kill_group(process.pid)
            raise

    async def close(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
