"""The dumper asks the real server how big a database is, to size a backup's parts by."""

import asyncpg
import pytest

from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.servers import ServerGateway
from services.dumper.settings import DumperSettings
from tests.integration.dumper.conftest import maria_spec, pg_spec, pg_url

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def gateway() -> ServerGateway:
    settings = DumperSettings()
    finder = ToolFinder(postgres_glob=settings.postgres_bin_glob, search_dirs=settings.search_dirs)
    return ServerGateway(finder, connect_timeout=10)


class TestDatabaseSize:
    async def test_postgres_reports_the_database_size(self, postgres_url, pg_source):
        name = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, name))
        try:
            await conn.execute(
                "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 60000) g"
            )
        finally:
            await conn.close()

        async with gateway().plan(pg_spec(postgres_url), name) as plan:
            assert plan.database_size is not None
            assert plan.database_size > 4 * MIB  # the table's ~4 MiB plus the catalogs

    async def test_mariadb_reports_the_size_of_its_tables(self, mariadb, maria_database):
        with mariadb.connect(maria_database) as conn, conn.cursor() as cursor:
            cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, pad CHAR(200)) ENGINE=InnoDB")
            cursor.executemany(
                "INSERT INTO t VALUES (%s, %s)", [(i, "x" * 200) for i in range(20000)]
            )
            cursor.execute("ANALYZE TABLE t")
            conn.commit()

        async with gateway().plan(maria_spec(mariadb), maria_database) as plan:
            assert plan.database_size is not None
            assert plan.database_size > MIB
