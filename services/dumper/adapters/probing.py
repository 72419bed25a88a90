"""The connection test against a real server: each check in turn, with its sentence."""

import asyncio
import socket

from services.dumper.adapters import mysql, postgres
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.readiness import mysql_ready, postgres_ready
from services.dumper.checks import (
    Check,
    CheckList,
    mysql_missing,
    mysql_privileges_detail,
    parse_grants,
    pg_privileges_detail,
)
from services.dumper.connection_test import ConnectionReport
from services.dumper.errors import DatabaseGoneError, DumpError, ToolNotFoundError
from services.dumper.readiness import Readiness, not_checked
from services.dumper.tools import MYSQL_CLIENTS, MYSQL_DUMPS, Tool, choose_pg_dump, major_version
from shared.specs import ConnectionSpec


async def tcp_reachable(host: str, port: int, *, within: float) -> tuple[bool, str]:
    """Whether a TCP connection to host:port opens, in a sentence either way."""
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(within):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return False, f"{where} gave no answer within {within:g} s"
    except socket.gaierror:
        return False, f"the host name {host} does not resolve"
    except ConnectionRefusedError:
        return False, f"{where} refused the connection (is the server running?)"
    except OSError as exc:
        return False, f"{where} is unreachable: {exc.strerror or type(exc).__name__}"
    writer.close()
    await asyncio.gather(writer.wait_closed(), return_exceptions=True)
    return True, f"{where} accepts TCP connections"


def tool_detail(tool: Tool) -> str:
    """`pg_dump 15.20 at /usr/lib/postgresql/15/bin/pg_dump`."""
    tail = tool.version.split(")", 1)[-1]
    numbers = [word for word in tail.split() if word[:1].isdigit()]
    version = numbers[0].rstrip(",") if numbers else tool.version
    return f"{tool.name} {version} at {tool.path}"


class ConnectionTester:
    """Runs the checks of `POST /servers/{id}/test` for one connection."""

    def __init__(self, finder: ToolFinder, *, timeout: int) -> None:
        self._finder = finder
        self._timeout = timeout

    async def run(self, spec: ConnectionSpec, database: str | None) -> ConnectionReport:
        checks = CheckList()
        ok, detail = await tcp_reachable(spec.host, spec.port, within=self._timeout)
        if checks.add("reachable", detail, ok=ok):
            if spec.type == "postgresql":
                await self._postgres(spec, database, checks)
            else:
                await self._mysql(spec, database, checks)
        finished = checks.finish()
        return ConnectionReport(finished, await self._archiving(spec, database, finished))

    async def _archiving(
        self, spec: ConnectionSpec, database: str | None, checks: list[Check]
    ) -> Readiness:
        """Asked only once logged in; missing privileges for a dump do not stop it."""
        failed = next((c.check for c in checks[:2] if not c.ok), None)
        if failed is not None:
            return not_checked(f"{failed} failed")
        within = self._timeout
        try:
            if spec.type == "postgresql":
                return await postgres_ready(spec, database=database or "postgres", within=within)
            client = await self._finder.first(MYSQL_CLIENTS[spec.type])
            if client is None:  # authenticated passed, so a client was there a moment ago
                return not_checked("no client is installed on the dumper")
            with mysql.options_file(spec, connect_timeout=self._timeout) as options:
                return await mysql_ready(client.path, spec, options=options, within=within)
        except DumpError as exc:
            return not_checked(exc.reason)

    async def _postgres(
        self, spec: ConnectionSpec, database: str | None, checks: CheckList
    ) -> None:
        within = self._timeout
        try:
            async with postgres.connected(
                spec, database=database or "postgres", within=within
            ) as conn:
                checks.passed("authenticated", f"logged in as {spec.username}")
                version: str = await conn.fetchval(postgres.VERSION)
                checks.passed("server_version", f"PostgreSQL {version}")
                if database is None:
                    names = [r["datname"] for r in await conn.fetch(postgres.DATABASES)]
                else:
                    names = [database]
        except DumpError as exc:
            checks.failed_with("authenticated", exc.reason)
            return
        missing: list[str] = []
        tables = sequences = 0
        try:
            for name in names:
                try:
                    async with postgres.connected(spec, database=name, within=within) as conn:
                        found, table_count, sequence_count = await postgres.unreadable(conn)
                except DatabaseGoneError:
                    if database is not None:
                        raise
                    continue  # dropped since it was listed: nothing of it to back up
                prefix = "" if database is not None else f"{name}."
                missing += [prefix + item for item in found]
                tables, sequences = tables + table_count, sequences + sequence_count
        except DumpError as exc:
            checks.failed_with("privileges", exc.reason)
            return
        where = database or f"{len(names)} databases"
        detail = pg_privileges_detail(missing, tables=tables, sequences=sequences, where=where)
        if not checks.add("privileges", detail, ok=not missing):
            return
        try:
            tool = choose_pg_dump(await self._finder.pg_dumps(), version)
        except ToolNotFoundError:
            checks.failed_with("dump_tool", f"no pg_dump >= {major_version(version)} found")
            return
        checks.passed("dump_tool", tool_detail(tool))

    async def _mysql(self, spec: ConnectionSpec, database: str | None, checks: CheckList) -> None:
        within = self._timeout
        client = await self._finder.first(MYSQL_CLIENTS[spec.type])
        if client is None:
            clients = " or ".join(MYSQL_CLIENTS[spec.type])
            checks.failed_with("authenticated", f"no {clients} client is installed on the dumper")
            return
        with mysql.options_file(spec, connect_timeout=self._timeout) as options:
            try:
                version = await mysql.server_version(
                    client.path, spec, database=database, options=options, within=within
                )
            except DumpError as exc:
                checks.failed_with("authenticated", exc.reason)
                return
            checks.passed("authenticated", f"logged in as {spec.username}")
            checks.passed("server_version", f"{_engine(version)} {version}")
            try:
                lines = await mysql.grants(client.path, spec, options=options, within=within)
                databases = [database] if database else []
                if database is None:
                    databases = await mysql.user_databases(
                        client.path, spec, options=options, within=within
                    )
            except DumpError as exc:
                checks.failed_with("privileges", exc.reason)
                return
        missing = mysql_missing(parse_grants(lines), databases)
        detail = mysql_privileges_detail(missing, databases)
        if not checks.add("privileges", detail, ok=not missing):
            return
        tool = await self._finder.first(MYSQL_DUMPS[spec.type])
        if tool is None:
            checks.failed_with("dump_tool", f"no {' or '.join(MYSQL_DUMPS[spec.type])} found")
            return
        checks.passed("dump_tool", tool_detail(tool))


def _engine(version: str) -> str:
    return "MariaDB" if "mariadb" in version.lower() else "MySQL"
