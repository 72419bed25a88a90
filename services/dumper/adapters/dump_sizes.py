"""The dumper's memory of each database's last dump size (SQL in module constants)."""

from collections.abc import Callable
from uuid import UUID

from asyncpg import Pool

from shared.database import CONNECTION_LOST
from shared.logging import get_logger

log = get_logger(__name__)
UNREACHABLE: tuple[type[Exception], ...] = (*CONNECTION_LOST, OSError, TimeoutError)

REMEMBER = """
INSERT INTO {schema}.dump_sizes (server_id, database, size) VALUES ($1, $2, $3)
ON CONFLICT (server_id, database) DO UPDATE SET size = EXCLUDED.size, dumped_at = now()
"""
LAST = "SELECT size FROM {schema}.dump_sizes WHERE server_id = $1 AND database = $2"


class DumpSizes:
    """Best effort both ways: a size that cannot be read or written only loses a hint."""

    def __init__(self, pool: Callable[[], Pool], schema: str) -> None:
        self._pool = pool  # the pool exists once the service has started
        self._schema = schema

    async def last(self, server_id: UUID, database: str) -> int | None:
        try:
            size: int | None = await self._pool().fetchval(
                LAST.format(schema=self._schema), server_id, database
            )
        except UNREACHABLE as exc:
            log.warning("dump_size_unread", reason=type(exc).__name__)
            return None
        return size

    async def remember(self, server_id: UUID, database: str, size: int) -> None:
        try:
            await self._pool().execute(
                REMEMBER.format(schema=self._schema), server_id, database, size
            )
        except UNREACHABLE as exc:
            log.warning("dump_size_unsaved", reason=type(exc).__name__)
