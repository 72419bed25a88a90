"""Post-backup and post-restore hooks: the operator's named command, run after the end.

A configuration names a hook of the operator's file (hook_catalog.py); the hook's argv runs
without a shell, in a session of its own (a timeout kills the whole group), with stdin,
stdout and stderr on /dev/null and no other descriptor of the api, and an environment of
only PATH, the hook's own variables from the file and the event's facts (`DATABASEMENT_*`):
never the api's environment, which holds its keys. At most `concurrency` run at once.
A non-zero exit, a timeout or a hook the file no longer defines is a warning on the
snapshot (SnapshotWarned through the outbox), never a failure. Hooks run beside the event
handling, so a slow hook delays nothing; one interrupted by an api restart is not run again.
"""

import asyncio
import os
import pwd
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID

from services.api.notifications.hook_catalog import HookCatalog, HookDefinition
from shared.events import SnapshotWarned
from shared.logging import get_logger

log = get_logger(__name__)
HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Source = Literal["post_backup_hook", "post_restore_hook"]
Warn = Callable[[SnapshotWarned], Awaitable[None]]


def hook_environment(facts: dict[str, Any], own: dict[str, str] | None = None) -> dict[str, str]:
    """PATH, the hook's own variables, and `DATABASEMENT_<FACT>` for each known fact. Pure."""
    env = {"PATH": HOOK_PATH, **(own or {})}
    for key, value in facts.items():
        if value is not None:
            env[f"DATABASEMENT_{key.upper()}"] = str(value).replace("\x00", "")  # unpassable
    return env


def outcome(name: str, returncode: int | None, *, timed_out: bool, timeout: float) -> str | None:
    """The warning sentence for how a hook ended; None when it succeeded. Pure."""
    if timed_out:
        return f"hook {name} did not finish within {timeout:g} s and was killed"
    if returncode:
        return f"hook {name} exited with code {returncode}"
    return None


class HookRunner:
    """Starts the operator's hooks in the background and warns about the ones that fail."""

    def __init__(self, warn: Warn, catalog: HookCatalog, *, concurrency: int = 2) -> None:
        self.warn = warn
        self.catalog = catalog
        self.slots = asyncio.Semaphore(concurrency)
        self.running: set[asyncio.Task[None]] = set()

    def start(
        self,
        name: str | None,
        facts: dict[str, Any],
        *,
        source: Source,
        snapshot_id: UUID,
        restore_id: UUID | None = None,
    ) -> None:
        if not name:
            return
        task = asyncio.create_task(self.run(name, facts, source, snapshot_id, restore_id))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def run(
        self,
        name: str,
        facts: dict[str, Any],
        source: Source,
        snapshot_id: UUID,
        restore_id: UUID | None,
    ) -> None:
        hook = self.catalog.get(name)
        event = source.removesuffix("_hook")
        returncode: int | None = None
        timed_out = False
        if hook is None or event not in hook.events:
            sentence: str | None = (
                f"hook {name} is no longer defined for {event} in API_HOOKS_FILE; not run"
            )
        else:
            timeout = self.catalog.timeout_of(hook)
            env = hook_environment(facts | {"hook_name": name}, hook.environment)
            async with self.slots:
                returncode, timed_out, error = await _execute(name, hook, env, timeout)
            sentence = error or outcome(name, returncode, timed_out=timed_out, timeout=timeout)
        log.info(
            "hook_finished",
            hook=name,
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

    async def close(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _execute(
    name: str, hook: HookDefinition, env: dict[str, str], seconds: float
) -> tuple[int | None, bool, str | None]:
    """(exit code, timed out, a sentence when it could not even start)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *hook.argv,
            env=env,
            cwd="/",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            close_fds=True,  # the api's sockets, pool connections and files stay the api's
            start_new_session=True,  # so a timeout kills what the hook started too
            **_identity(hook.user),
        )
    except (OSError, KeyError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else None
        return None, False, f"hook {name} could not start: {reason or type(exc).__name__}"
    try:
        async with asyncio.timeout(seconds):
            return await process.wait(), False, None
    except TimeoutError:
        _kill_group(process.pid)
        await process.wait()
        return None, True, None
    except asyncio.CancelledError:
        _kill_group(process.pid)
        raise


def _identity(user: str | None) -> dict[str, Any]:
    """Popen's arguments to run as `user`: its uid, its primary group, no other group."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
