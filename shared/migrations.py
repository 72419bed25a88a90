"""Versioned SQL migrations, one schema per service, safe to run twice or concurrently.

Files are `NNNN_name.sql` in the service's `migrations/` folder, applied in order inside a
transaction with `search_path` set to the service's schema. A session-level advisory lock on
the schema name serialises replicas that start at the same time.
"""

import re
from pathlib import Path

from asyncpg import Pool

from shared.database import Conn
from shared.logging import get_logger

log = get_logger(__name__)

_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version FROM {schema}.schema_migrations"
INSERT_APPLIED = "INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)"
LOCK = "SELECT pg_advisory_lock(hashtext('databasement.migrate.' || $1))"
UNLOCK = "SELECT pg_advisory_unlock(hashtext('databasement.migrate.' || $1))"


def discover(folder: Path) -> list[tuple[int, str, Path]]:
    """The migration files in `folder`, ordered by version."""
    found = []
    for path in folder.iterdir():
        match = _FILE.match(path.name)
        if match:
            found.append((int(match["version"]), match["name"], path))
    return sorted(found)


async def migrate(pool: Pool, *, schema: str, folder: Path) -> list[int]:
    """Apply pending migrations of `schema`; returns the versions applied now."""
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    async with pool.acquire() as conn:
        await conn.execute(LOCK, schema)
        try:
            return await _apply_pending(conn, schema, folder)
        finally:
            await conn.execute(UNLOCK, schema)


async def _apply_pending(conn: Conn, schema: str, folder: Path) -> list[int]:
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    await conn.execute(CREATE_LEDGER.format(schema=schema))
    applied = {row["version"] for row in await conn.fetch(SELECT_APPLIED.format(schema=schema))}
    done = []
    for version, name, path in discover(folder):
        if version in applied:
            continue
        async with conn.transaction():
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            await conn.execute(path.read_text())
            await conn.execute(INSERT_APPLIED.format(schema=schema), version, name)
        log.info("migration_applied", schema=schema, version=version, migration=name)
        done.append(version)
    return done
