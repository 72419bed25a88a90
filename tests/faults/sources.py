"""The small source databases the fault suite backs up, and the check that a restore equals one.

They live on the shared PostgreSQL under names of their own (created and dropped by the suite);
only the services' own tables go to the private cluster the suite restarts.
"""

import asyncio
import subprocess
from pathlib import Path

import asyncpg

from tests.fixtures.resources import database_url, unique

DECOMPRESS = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"]}

SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id int REFERENCES customers (id),
    amount numeric(12, 2) NOT NULL,
    note text,
    placed_at timestamptz NOT NULL
);
INSERT INTO customers
    SELECT g, 'customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.org' END
    FROM generate_series(1, $ROWS) AS g;
INSERT INTO orders (customer_id, amount, note, placed_at)
    SELECT 1 + g % $ROWS, (g * 37 % 100000) / 100.0, repeat(md5(g::text), 1 + g % 4),
           timestamptz '2026-01-01 00:00+00' + g * interval '1 minute'
    FROM generate_series(1, $ROWS * 3) AS g;
"""

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
DIGEST = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"

Fingerprint = dict[str, tuple[int, str]]


async def create_sources(admin_url: str, count: int) -> list[str]:
    """`count` databases of a few hundred to a few thousand rows each, all different."""
    prefix = unique("dbm_faults_")
    names = [f"{prefix}_{i}" for i in range(count)]
    admin = await asyncpg.connect(admin_url)
    try:
        for index, name in enumerate(names):
            await admin.execute(f'CREATE DATABASE "{name}"')
            conn = await asyncpg.connect(database_url(admin_url, name))
            try:
                await conn.execute(SCHEMA.replace("$ROWS", str(200 + 150 * index)))
            finally:
                await conn.close()
    finally:
        await admin.close()
    return names


async def drop_databases(admin_url: str, names: list[str]) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fingerprint(url: str) -> Fingerprint:
    """Every table's row count and the md5 of all its rows in a stable order."""
    conn = await asyncpg.connect(url)
    try:
        result: Fingerprint = {}
        for row in await conn.fetch(TABLES):
            table = row["tablename"]
            count, digest = await conn.fetchrow(DIGEST.format(f'"{table}"'))
            result[table] = (count, digest)
        return result
    finally:
        await conn.close()


async def restore_and_compare(
    admin_url: str, artifact: Path, compression: str, expected: Fingerprint
) -> str | None:
    """`gunzip -c f.sql.gz | psql` into a fresh database; None when it equals `expected`,
    else what differs, in words."""
    target = unique("dbm_faults_restored_")
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{target}"')
    try:
        error = await asyncio.to_thread(
            _pipe_into_psql, artifact, compression, database_url(admin_url, target)
        )
        if error:
            return error
        restored = await fingerprint(database_url(admin_url, target))
        if restored != expected:
            differing = sorted(
                t for t in {*restored, *expected} if restored.get(t) != expected.get(t)
            )
            return f"restored tables differ from the source: {', '.join(differing)}"
        return None
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.close()


def _pipe_into_psql(artifact: Path, compression: str, url: str) -> str | None:
    with subprocess.Popen(
        [*DECOMPRESS[compression], str(artifact)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as decompress:
        psql = subprocess.run(
            ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=decompress.stdout,
            capture_output=True,
            check=False,
        )
        decompress_err = decompress.stderr.read() if decompress.stderr else b""
    if decompress.returncode != 0:
        return f"{DECOMPRESS[compression][0]} failed: {decompress_err.decode(errors='replace')}"
    if psql.returncode != 0:
        return f"psql failed: {psql.stderr.decode(errors='replace')[-500:]}"
    return None
