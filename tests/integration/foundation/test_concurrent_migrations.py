"""Two replicas starting at once both come up, and every migration is applied once."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.catalog.app import migrations_folder as catalog_migrations
from shared.migrations import discover, migrate
from tests.fixtures.resources import database_url, unique
from tests.integration.foundation.test_service_lifecycle import terminate, wait_ready
from tests.support.stack import stack_env

pytestmark = pytest.mark.integration

SLOW_MIGRATIONS = {
    "0001_first.sql": "CREATE TABLE first (id int); SELECT pg_sleep(0.3);",
    "0002_second.sql": "ALTER TABLE first ADD COLUMN name text; SELECT pg_sleep(0.3);",
    "0003_third.sql": "CREATE TABLE third (id int PRIMARY KEY);",
}


@pytest.fixture
async def missing_database(postgres_url) -> AsyncIterator[str]:
    """The URL of a database that does not exist yet; dropped after the test if created."""
    name = unique("dbm_test_")
    yield database_url(postgres_url, name)
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def ledger(url: str, schema: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"SELECT version FROM {schema}.schema_migrations ORDER BY 1")
    finally:
        await conn.close()
    return [row["version"] for row in rows]


class TestConcurrentMigrations:
    async def test_two_pools_migrating_at_once_apply_each_migration_once(
        self, pg_database, tmp_path: Path
    ):
        for name, sql in SLOW_MIGRATIONS.items():
            (tmp_path / name).write_text(sql)
        pools = [await asyncpg.create_pool(pg_database, min_size=1, max_size=2) for _ in "ab"]
        try:
            applied = await asyncio.gather(
                *(migrate(pool, schema="replica_test", folder=tmp_path) for pool in pools)
            )
            again = await migrate(pools[0], schema="replica_test", folder=tmp_path)
        finally:
            for pool in pools:
                await pool.close()

        assert sorted(applied) == [[], [1, 2, 3]]
        assert again == []
        assert await ledger(pg_database, "replica_test") == [1, 2, 3]

    async def test_the_real_catalog_migrations_apply_once_from_two_pools(self, empty_pg_database):
        pg_database = empty_pg_database
        pools = [await asyncpg.create_pool(pg_database, min_size=1, max_size=2) for _ in "ab"]
        try:
            applied = await asyncio.gather(
                *(migrate(pool, schema="catalog", folder=catalog_migrations) for pool in pools)
            )
        finally:
            for pool in pools:
                await pool.close()

        versions = [version for version, _, _ in discover(catalog_migrations)]
        assert sorted(applied) == [[], versions]
        assert await ledger(pg_database, "catalog") == versions

    def test_two_catalog_replicas_started_at_once_on_a_new_database_both_become_ready(
        self, namespace, missing_database, tmp_path
    ):
        envs = [
            stack_env(namespace=namespace, database_url=missing_database, staging=tmp_path / "st")
            for _ in range(2)
        ]
        logs = [tmp_path / f"catalog-{i}.log" for i in range(2)]
        processes = []
        for env, log in zip(envs, logs, strict=True):
            with log.open("ab") as out:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.catalog"],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        try:
            for process, env, log in zip(processes, envs, logs, strict=True):
                wait_ready(process, int(env["CATALOG_HTTP_PORT"]), log)
        finally:
            for process in processes:
                terminate(process)

        outputs = "".join(log.read_text() for log in logs)
        assert outputs.count('"database_created"') == 1
        versions = [version for version, _, _ in discover(catalog_migrations)]
        for version in versions:
            assert outputs.count(f'"version": {version},') == 1, outputs
        assert all(process.returncode is not None for process in processes)
