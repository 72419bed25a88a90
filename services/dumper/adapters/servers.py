"""Prepare a dump against a real server: probe its version, pick the tool, build argv/env."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.dumper.adapters import mysql, postgres
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.files import optional_file
from services.dumper.adapters.probing import ConnectionTester
from services.dumper.connection_test import ConnectionReport
from services.dumper.errors import ToolNotFoundError
from services.dumper.tools import (
    MYSQL_CLIENTS,
    MYSQL_DUMPS,
    MYSQL_ENVIRONMENT,
    DumpPlan,
    Tool,
    choose_pg_dump,
    mysql_dump_argv,
    pg_dump_argv,
    pg_environment,
)
from shared.specs import ConnectionSpec


class ServerGateway:
    """The dumper's door to database servers: version probes, tool choice, listings."""

    def __init__(self, finder: ToolFinder, *, connect_timeout: int) -> None:
        self._finder = finder
        self._timeout = connect_timeout
        self._tester = ConnectionTester(finder, timeout=connect_timeout)

    @asynccontextmanager
    async def plan(self, spec: ConnectionSpec, database: str) -> AsyncIterator[DumpPlan]:
        """A ready-to-run dump of `database`; any options file lives as long as the block."""
        secrets = (spec.password.get_secret_value(),)
        if spec.type == "postgresql":
            version = await postgres.server_version(spec, database=database, within=self._timeout)
            tool = choose_pg_dump(await self._finder.pg_dumps(), version)
            size = await postgres.database_size(spec, database=database, within=self._timeout)
            with optional_file(spec.tls_ca, suffix=".pem") as ca_file:
                env = pg_environment(
                    spec, database=database, connect_timeout=self._timeout, ca_file=ca_file
                )
                yield DumpPlan(tool, pg_dump_argv(tool), env, version, secrets, size)
            return
        client = await self._require(MYSQL_CLIENTS[spec.type])
        dump_tool = await self._require(MYSQL_DUMPS[spec.type])
        with mysql.options_file(spec, connect_timeout=self._timeout) as options:
            version = await mysql.server_version(
                client.path, spec, database=database, options=options, within=self._timeout
            )
            size = await mysql.database_size(
                client.path, spec, database=database, options=options, within=self._timeout
            )
            argv = mysql_dump_argv(dump_tool, options_file=options, database=database)
            yield DumpPlan(dump_tool, argv, dict(MYSQL_ENVIRONMENT), version, secrets, size)

    async def databases(self, spec: ConnectionSpec) -> list[str]:
        """The user databases on the server (system ones left out)."""
        if spec.type == "postgresql":
            return await postgres.user_databases(spec, within=self._timeout)
        client = await self._require(MYSQL_CLIENTS[spec.type])
        with mysql.options_file(spec, connect_timeout=self._timeout) as options:
            return await mysql.user_databases(
                client.path, spec, options=options, within=self._timeout
            )

    async def test_connection(self, spec: ConnectionSpec, database: str | None) -> ConnectionReport:
        """Reachable, authenticated, server version, privileges, dump tool; archiving."""
        return await self._tester.run(spec, database)

    async def _require(self, names: tuple[str, ...]) -> Tool:
        tool = await self._finder.first(names)
        if tool is None:
            raise ToolNotFoundError(f"none of {', '.join(names)} is installed on the dumper")
        return tool
