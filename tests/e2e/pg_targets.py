"""PostgreSQL databases an e2e test restores into, dropped (in the background) at its end."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, unique


class Targets:
    """Names of databases a test restores into; each is dropped at the test's end."""

    def __init__(self, admin_url: str, prefix: str, fingerprint_sql: str = "") -> None:
        self.admin_url = admin_url
        self.prefix = prefix
        self.fingerprint_sql = fingerprint_sql
        self.names: list[str] = []

    def new(self) -> str:
        self.names.append(unique(self.prefix))
        return self.names[-1]

    def url(self, name: str) -> str:
        return database_url(self.admin_url, name)

    async def fingerprint(self, name: str) -> tuple[Any, ...]:
        """The row `fingerprint_sql` gives in database `name`."""
        conn = await asyncpg.connect(self.url(name))
        try:
            return tuple(await conn.fetchrow(self.fingerprint_sql))
        finally:
            await conn.close()

    async def exists(self, name: str) -> bool:
        admin = await asyncpg.connect(self.admin_url)
        try:
            return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name))
        finally:
            await admin.close()


@asynccontextmanager
async def restore_targets(
    admin_url: str, prefix: str, fingerprint_sql: str = ""
) -> AsyncIterator[Targets]:
    """Targets whose databases are dropped once the block ends."""
    made = Targets(admin_url, prefix, fingerprint_sql)
    try:
        yield made
    finally:
        for name in made.names:
            drop_pg_database_later(admin_url, name)
