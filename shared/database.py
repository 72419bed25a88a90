"""asyncpg pool creation, shared by every service that owns tables."""

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
