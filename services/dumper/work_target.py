"""Where a restore writes while it runs, so that a killed restore leaves no partial target.

PostgreSQL restores into `databasement_tmp_<restore id>` and renames it to the target only
once the client has finished (an overwritten target stays whole until then: it is renamed
to `databasement_old_<restore id>` just before, and dropped after); a verify counts rows
there and drops it. MySQL and MariaDB cannot
rename a database: the restore writes into the target itself, with an empty table
`databasement_restore_<restore id>` in it until the end, and drops it on failure. Either
leftover of a killed restore carries the restore's id: the next attempt of that restore
drops it first (a temporary PostgreSQL database only when no session is using it).
"""

import asyncio
import time
from typing import Protocol
from uuid import UUID

from services.dumper.errors import DumpError
from shared.events import RestoreRequested
from shared.specs import ConnectionSpec

WORK_PREFIX = "databasement_tmp_"
MARK_PREFIX = "databasement_restore_"
ASIDE_PREFIX = "databasement_old_"
BUSY_WAIT = 15.0
"""Seconds the next attempt waits for a killed attempt's session to leave its database."""
BUSY_POLL = 0.5


class WorkTargets(Protocol):
    """What a work target needs of the target gateway."""

    async def exists(self, spec: ConnectionSpec, database: str) -> bool: ...
    async def create(self, spec: ConnectionSpec, database: str) -> None: ...
    async def drop(self, spec: ConnectionSpec, database: str) -> None: ...
    async def in_use(self, spec: ConnectionSpec, database: str) -> bool: ...
    async def rename(self, spec: ConnectionSpec, database: str, to: str) -> None: ...
    async def marked(self, spec: ConnectionSpec, database: str, mark: str) -> bool: ...
    async def mark(self, spec: ConnectionSpec, database: str, mark: str) -> None: ...
    async def unmark(self, spec: ConnectionSpec, database: str, mark: str) -> None: ...
    async def row_counts(self, spec: ConnectionSpec, database: str) -> dict[str, int]: ...


class WorkTargetBusyError(DumpError):
    """Another delivery of the same restore is writing its temporary database."""


def work_database(restore_id: UUID) -> str:
    """The temporary PostgreSQL database of one restore (49 bytes, within the 63 allowed)."""
    return f"{WORK_PREFIX}{restore_id.hex}"


def restore_mark(restore_id: UUID) -> str:
    return f"{MARK_PREFIX}{restore_id.hex}"


class WorkTarget:
    """The database one restore writes into, and how it becomes (or stops being) the target."""

    def __init__(
        self,
        targets: WorkTargets,
        spec: ConnectionSpec,
        request: RestoreRequested,
        *,
        busy_wait: float = BUSY_WAIT,
    ) -> None:
        self._targets = targets
        self._busy_wait = busy_wait
        self._spec = spec
        self._target = request.database
        self._renames = spec.type == "postgresql"
        self._mark = restore_mark(request.restore_id)
        self._aside = f"{ASIDE_PREFIX}{request.restore_id.hex}"
        self.name = work_database(request.restore_id) if self._renames else request.database

    async def target_is_leftover(self) -> bool:
        """MySQL/MariaDB: whether the existing target is what a killed attempt of this
        restore left (it is dropped then)."""
        if self._renames or not await self._targets.marked(self._spec, self.name, self._mark):
            return False
        await self._targets.drop(self._spec, self.name)
        return True

    async def clear_leftover(self) -> None:
        """PostgreSQL: drop the temporary database a killed attempt of this restore left."""
        targets, spec = self._targets, self._spec
        if not (self._renames and await targets.exists(spec, self.name)):
            return
        # A killed dumper's client dies with it, but its server session may need a moment
        # to notice; a session still there after that belongs to a live attempt.
        deadline = time.monotonic() + self._busy_wait
        while await targets.in_use(spec, self.name):
            if time.monotonic() >= deadline:
                raise WorkTargetBusyError(f"this restore is already running into {self.name}")
            await asyncio.sleep(BUSY_POLL)
        await targets.drop(spec, self.name)

    async def prepare(self, *, replacing: bool) -> None:
        """Create the work database (MySQL: after dropping a target being replaced)."""
        targets, spec = self._targets, self._spec
        if not self._renames and replacing:
            await targets.drop(spec, self.name)
        await targets.create(spec, self.name)
        if not self._renames:
            try:
                await targets.mark(spec, self.name, self._mark)
            except BaseException:
                await targets.drop(spec, self.name)
                raise

    async def row_counts(self) -> dict[str, int]:
        if not self._renames:
            await self._targets.unmark(self._spec, self.name, self._mark)
        return await self._targets.row_counts(self._spec, self.name)

    async def commit(self, *, replacing: bool) -> None:
        """The restored database becomes the target. An old PostgreSQL target is renamed
        aside first and put back if the new one cannot take its name, then dropped."""
        targets, spec, target = self._targets, self._spec, self._target
        if not self._renames:
            await targets.unmark(spec, self.name, self._mark)
            return
        if not replacing:
            await targets.rename(spec, self.name, target)
            return
        await targets.rename(spec, target, self._aside)
        try:
            await targets.rename(spec, self.name, target)
        except DumpError:
            await targets.rename(spec, self._aside, target)
            raise
        await targets.drop(spec, self._aside)

    async def discard(self) -> None:
        await self._targets.drop(self._spec, self.name)
