"""Restore targets on real servers: does the database exist, create it, drop it, and the
client tool (`psql` or `mysql`) that a restore feeds, started without a shell, its command
interpreter kept off the dump's input (see client_input.py)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.dumper.adapters import mysql, postgres
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.feeding import ClientFailedError, FeedingClient
from services.dumper.adapters.files import optional_file
from services.dumper.adapters.orphans import die_with_parent
from services.dumper.client_input import input_guard
from services.dumper.client_versions import mysql_restore_flags
from services.dumper.errors import DumpError, ToolNotFoundError
from services.dumper.tools import MYSQL_CLIENTS, MYSQL_ENVIRONMENT, Tool, pg_environment
from shared.specs import ConnectionSpec

PG_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1"
PG_IN_USE = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
PG_END_SESSIONS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = $1 AND pid <> pg_backend_pid()"
)
PG_TABLES = """
SELECT n.nspname AS table_schema, c.relname AS table_name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
"""Tables that hold rows, as pg_dump writes COPY sections for them: not a partitioned
parent (its partitions are counted) nor an extension's own table."""
MY_TABLES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = DATABASE() AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')"
)
__all__ = ["ClientFailedError", "FeedingClient", "TargetGateway"]

PSQL_FLAGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1")
"""The database comes from PGDATABASE, so no name reaches argv."""


def pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class TargetGateway:
    """The dumper's door to restore targets."""

    def __init__(self, finder: ToolFinder, *, connect_timeout: int) -> None:
        self._finder = finder
        self._timeout = connect_timeout

    async def client_tool(self, spec: ConnectionSpec) -> Tool:
        names = ("psql",) if spec.type == "postgresql" else MYSQL_CLIENTS[spec.type]
        tool = await self._finder.first(names)
        if tool is None:
            raise ToolNotFoundError(f"none of {', '.join(names)} is installed on the dumper")
        return tool

    async def exists(self, spec: ConnectionSpec, database: str) -> bool:
        if spec.type == "postgresql":
            async with postgres.connected(spec, database="postgres", within=self._timeout) as c:
                return bool(await c.fetchval(PG_EXISTS, database))
        return database in await self._mysql(spec, "SHOW DATABASES")

    async def create(self, spec: ConnectionSpec, database: str) -> None:
        if spec.type == "postgresql":
            async with postgres.connected(spec, database="postgres", within=self._timeout) as c:
                await c.execute(f"CREATE DATABASE {pg_ident(database)}")
            return
        await self._mysql(spec, f"CREATE DATABASE {my_ident(database)}")

    async def drop(self, spec: ConnectionSpec, database: str) -> None:
        if spec.type == "postgresql":
            async with postgres.connected(spec, database="postgres", within=self._timeout) as c:
                await c.execute(f"DROP DATABASE IF EXISTS {pg_ident(database)} WITH (FORCE)")
            return
        await self._mysql(spec, f"DROP DATABASE IF EXISTS {my_ident(database)}")

    async def in_use(self, spec: ConnectionSpec, database: str) -> bool:
        """Whether any session is connected to the PostgreSQL `database`."""
        async with postgres.connected(spec, database="postgres", within=self._timeout) as c:
            return bool(await c.fetchval(PG_IN_USE, database))

    async def rename(self, spec: ConnectionSpec, database: str, to: str) -> None:
        """PostgreSQL: `database` becomes `to`, its sessions ended first (a rename needs
        none); DumpError with a sentence if the server refuses."""
        async with postgres.connected(spec, database="postgres", within=self._timeout) as c:
            try:
                await c.execute(PG_END_SESSIONS, database)
                await c.execute(f"ALTER DATABASE {pg_ident(database)} RENAME TO {pg_ident(to)}")
            except asyncpg.PostgresError as exc:
                raise DumpError(f"cannot rename database {database} to {to}: {exc}") from None

    async def marked(self, spec: ConnectionSpec, database: str, mark: str) -> bool:
        """MySQL/MariaDB: whether `database` holds the table `mark`."""
        sql = (
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_schema = {_my_string(database)} AND table_name = {_my_string(mark)}"
        )
        return (await self._mysql(spec, sql)) == ["1"]

    async def mark(self, spec: ConnectionSpec, database: str, mark: str) -> None:
        """MySQL/MariaDB: an empty table `mark` in `database`, telling whose it is."""
        await self._mysql(spec, f"CREATE TABLE {my_ident(mark)} (unused INT)", database=database)

    async def unmark(self, spec: ConnectionSpec, database: str, mark: str) -> None:
        await self._mysql(spec, f"DROP TABLE IF EXISTS {my_ident(mark)}", database=database)

    async def row_counts(self, spec: ConnectionSpec, database: str) -> dict[str, int]:
        """Rows in every base table of `database` (PostgreSQL names are `schema.table`)."""
        if spec.type == "postgresql":
            async with postgres.connected(spec, database=database, within=self._timeout) as c:
                counts: dict[str, int] = {}
                for row in await c.fetch(PG_TABLES):
                    schema, table = row["table_schema"], row["table_name"]
                    sql = f"SELECT count(*) FROM {pg_ident(schema)}.{pg_ident(table)}"
                    counts[f"{schema}.{table}"] = int(await c.fetchval(sql))
                return counts
        tables = await self._mysql(spec, MY_TABLES, database=database)
        if not tables:
            return {}
        union = " UNION ALL ".join(
            f"SELECT CONCAT({_my_string(t)}, ':', COUNT(*)) FROM {my_ident(t)}" for t in tables
        )
        lines = await self._mysql(spec, union, database=database)
        pairs = (line.rsplit(":", 1) for line in lines)
        return {name: int(count) for name, count in pairs}

    @asynccontextmanager
    async def feeding(
        self, spec: ConnectionSpec, database: str, tool: Tool
    ) -> AsyncIterator[FeedingClient]:
        """The client tool started into `database`, killed if the block fails."""
        secret = spec.password.get_secret_value()
        with contextlib.ExitStack() as files:
            if spec.type == "postgresql":
                ca = files.enter_context(optional_file(spec.tls_ca, suffix=".pem"))
                env = pg_environment(
                    spec, database=database, connect_timeout=self._timeout, ca_file=ca
                )
                argv = [str(tool.path), *PSQL_FLAGS]
            else:
                options = files.enter_context(
                    mysql.options_file(spec, connect_timeout=self._timeout)
                )
                env = dict(MYSQL_ENVIRONMENT)
                argv = [
                    str(tool.path),
                    f"--defaults-extra-file={options}",
                    *mysql_restore_flags(tool),
                    "--",
                    database,
                ]
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                preexec_fn=die_with_parent(),  # one prctl call in the child, no lock taken
            )
            client = FeedingClient(process, tool, secret, input_guard(spec.type, tool))
            try:
                yield client
            finally:
                await client.kill()

    async def _mysql(
        self, spec: ConnectionSpec, sql: str, *, database: str | None = None
    ) -> list[str]:
        tool = await self.client_tool(spec)
        with mysql.options_file(spec, connect_timeout=self._timeout) as options:
            return await mysql.query(
                tool.path, spec, sql, database=database, options=options, within=self._timeout
            )


def _my_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
