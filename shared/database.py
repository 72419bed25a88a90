"""The one place shared code meets asyncpg: the pool, its types, and the errors of an outage.

Logic modules name `Pool` and `Conn` from here to pass a pool along without importing asyncpg.
"""

from typing import TypeAlias

import asyncpg
from asyncpg import Connection
from asyncpg.pool import PoolConnectionProxy

from shared.logging import get_logger
from shared.settings import DatabaseSettings

log = get_logger(__name__)

Pool: TypeAlias = asyncpg.Pool
"""The pool a unit of work acquires its connections from."""


async def ensure_database(url: str) -> None:
    """Create the database named in `url` when it is missing; safe under concurrent starts."""
    head, _, tail = url.rpartition("/")
    name, separator, query = tail.partition("?")
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(f"{head}/postgres{separator}{query}")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            log.info("database_created", database=name)
        # Two replicas creating it at once: the loser sees a duplicate database or, when both
        # passed PostgreSQL's own check, a unique violation on the catalog's index.
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            pass
        finally:
            await admin.close()
    else:
        await conn.close()


async def create_pool(settings: DatabaseSettings) -> Pool:
    """One pool per process, opened in the service's lifespan (STYLE.md rule 13)."""
    url = settings.url.get_secret_value()
    if settings.create_database:
        await ensure_database(url)
    pool = await asyncpg.create_pool(url, min_size=settings.pool_min, max_size=settings.pool_max)
    if pool is None:  # pragma: no cover - asyncpg returns None only when not awaited
        raise RuntimeError("asyncpg returned no pool")
    return pool


Conn: TypeAlias = Connection | PoolConnectionProxy
"""A connection, whether opened alone or acquired from a pool."""

CONNECTION_LOST: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # "the database system is shutting down"
    asyncpg.exceptions.InterfaceError,  # "connection is closed" mid-query
)
"""What asyncpg raises while PostgreSQL is restarting or away."""
PING = "SELECT 1"


async def ping(pool: Pool) -> None:
    """Ask PostgreSQL the smallest question; raises when it does not answer."""
    await pool.fetchval(PING)
