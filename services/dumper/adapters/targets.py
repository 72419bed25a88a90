"""Restore targets on real servers: does the database exist, create it, drop it, and the
client tool (`psql` or `mysql`) that a restore feeds, started without a shell, its command
interpreter kept off the dump's input (see client_input.py)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.dumper.adapters import mysql, postgres
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.files import optional_file
from services.dumper.client_input import InputGuard, input_guard
from services.dumper.errors import ToolNotFoundError
from services.dumper.psql_guard import RefusedInputError
from services.dumper.stderr import StderrTail, tool_failure
from services.dumper.tools import (
    MYSQL_CLIENTS,
    MYSQL_ENVIRONMENT,
    Tool,
    mysql_restore_flags,
    pg_environment,
)
from shared.specs import ConnectionSpec

PG_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1"
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
PSQL_FLAGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1")
"""The database comes from PGDATABASE, so no name reaches argv."""


class ClientFailedError(Exception):
    """The client tool stopped with an error; the message is a sentence."""


def pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class FeedingClient:
    """A started client tool reading the dump on its stdin, through the input guard."""

    def __init__(
        self, process: asyncio.subprocess.Process, tool: Tool, secret: str, guard: InputGuard
    ) -> None:
        self._process = process
        self._tool = tool
        self._secret = secret
        self._guard = guard
        self._stderr = StderrTail()
        self._reader = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        stream = self._process.stderr
        assert stream is not None  # noqa: S101 - started with stderr=PIPE
        while block := await stream.read(65536):
            self._stderr.feed(block)

    def _failure(self, code: int) -> ClientFailedError:
        text = self._stderr.text
        return ClientFailedError(tool_failure(self._tool.name, code, text, secrets=(self._secret,)))

    async def write(self, data: bytes) -> None:
        """Pass `data` on; ClientFailedError if the guard refuses it (nothing of it sent)."""
        try:
            data = await asyncio.to_thread(self._guard.feed, data)
        except RefusedInputError as exc:
            raise ClientFailedError(str(exc)) from None
        await self._send(data)

    async def _send(self, data: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 - started with stdin=PIPE
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            code = await self._process.wait()
            await self._reader
            raise self._failure(code) from None

    async def finish(self) -> None:
        """Close stdin and wait; ClientFailedError unless the tool exited 0."""
        try:
            rest = self._guard.finish()
        except RefusedInputError as exc:
            raise ClientFailedError(str(exc)) from None
        await self._send(rest)
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 - started with stdin=PIPE
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()
            await stdin.wait_closed()
        code = await self._process.wait()
        await self._reader
        if code != 0:
            raise self._failure(code)

    async def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()


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
