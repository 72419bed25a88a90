"""Checks on stored artifacts: present, valid archives, restorable, nothing left behind."""

import subprocess
from pathlib import Path

import asyncpg

from tests.e2e.sources import mariadb_fingerprint, mysql_client, postgres_fingerprint
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import MariaDB, database_url, unique
from tests.support.stack import Stack

DECOMPRESS = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"]}
TEST_TOOL = {"gzip": ["gzip", "-t"], "zstd": ["zstd", "-tq"]}


def fetch_local(volume: Path, snapshot: dict) -> Path:
    artifact = volume / snapshot["path"]
    assert artifact.is_file(), f"no artifact at {artifact}"
    return artifact


def assert_valid_archive(artifact: Path, compression: str) -> None:
    result = subprocess.run(
        [*TEST_TOOL[compression], str(artifact)], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()


def restore_postgres(artifact: Path, compression: str, url: str) -> None:
    """`gunzip -c f.sql.gz | psql` into a fresh database, stopping at the first error."""
    with subprocess.Popen([*DECOMPRESS[compression], str(artifact)], stdout=subprocess.PIPE) as dec:
        result = subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=dec.stdout,
            capture_output=True,
            check=False,
        )
    assert dec.returncode == 0
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def assert_no_leftovers(stack: Stack, volume: Path, snapshot_id: str) -> None:
    staging = Path(stack.env["STAGING_PATH"]) / snapshot_id
    assert not staging.exists() or not any(staging.rglob("*.chunk")), "staged chunks were left"
    parts = volume / ".parts" / snapshot_id
    assert not parts.exists() or not any(parts.rglob("*")), "part files were left"


async def assert_postgres_restores(
    artifact: Path, compression: str, postgres_url: str, source: str
) -> None:
    """Restore into a fresh database with plain tools; it must equal the source."""
    restored = unique("dbm_restored_")
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        restore_postgres(artifact, compression, database_url(postgres_url, restored))
        assert await postgres_fingerprint(
            database_url(postgres_url, restored)
        ) == await postgres_fingerprint(database_url(postgres_url, source))
    finally:
        await admin.close()
        drop_pg_database_later(postgres_url, restored)


def assert_mariadb_restores(artifact: Path, compression: str, server: MariaDB, source: str) -> None:
    """`zstd -dc f | mysql` (or gunzip) into a fresh database; it must equal the source."""
    restored = unique("dbm_restored_")
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{restored}` CHARACTER SET utf8mb4")
    try:
        plain = subprocess.run(
            [*DECOMPRESS[compression], str(artifact)], capture_output=True, check=True
        ).stdout
        mysql_client(server, restored, plain)
        assert mariadb_fingerprint(server, restored) == mariadb_fingerprint(server, source)
    finally:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{restored}`")
