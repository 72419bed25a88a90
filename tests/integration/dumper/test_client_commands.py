"""A hostile dump's client commands (`\\! touch ...`) never run: the real psql and mariadb
clients, fed through the real target gateway, refuse it and create no file."""

import asyncpg
import pytest

from services.dumper.adapters import targets
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.targets import ClientFailedError, TargetGateway
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import maria_spec, pg_spec, pg_url, run_tool

pytestmark = pytest.mark.integration


class PassThrough:
    """No filter at all, optionally with a `\\restrict` line first: what the client does alone."""

    def __init__(self, first: bytes = b"") -> None:
        self._first = first

    def feed(self, data: bytes) -> bytes:
        first, self._first = self._first, b""
        return first + data

    def finish(self) -> bytes:
        return b""


@pytest.fixture
def gateway() -> TargetGateway:
    finder = ToolFinder(postgres_glob="/usr/lib/postgresql/*/bin", search_dirs=[])
    return TargetGateway(finder, connect_timeout=5)


async def feed(gateway: TargetGateway, spec, database: str, dump: bytes) -> str:
    tool = await gateway.client_tool(spec)

    async def run() -> None:
        async with gateway.feeding(spec, database, tool) as client:
            await client.write(dump)
            await client.finish()

    with pytest.raises(ClientFailedError) as caught:
        await run()
    return str(caught.value)


@pytest.fixture
async def pg_target(postgres_url, gateway):
    spec, name = pg_spec(postgres_url), unique("dbm_hostile_")
    await gateway.create(spec, name)
    yield spec, name
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def maria_target(mariadb: MariaDB):
    name = unique("dbm_hostile_")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield maria_spec(mariadb), name
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


class TestPsqlRunsNoCommandFromTheDump:
    @pytest.mark.parametrize(
        ("template", "line"),
        [
            ("CREATE TABLE t (a text);\n\\! touch {marker}\n", 2),
            (
                (
                    "CREATE TABLE t (a text);\nCOPY t FROM stdin;\nx\n\\.\n"
                    "SELECT 1; \\! touch {marker}\n"
                ),
                5,
            ),
            ("\\restrict k\nSELECT 1;\n\\unrestrict k\n\\! touch {marker}\n", 4),
        ],
    )
    async def test_the_filter_refuses_with_the_line_and_no_file_appears(
        self, gateway, pg_target, tmp_path, template, line
    ):
        marker = tmp_path / unique("pwned_")
        spec, database = pg_target
        reason = await feed(gateway, spec, database, template.format(marker=marker).encode())

        assert (
            reason == f"the dump contains a psql command outside COPY data (line {line}): refused"
        )
        assert not marker.exists()

    async def test_psql_alone_refuses_it_once_restricted_by_our_key(
        self, gateway, pg_target, tmp_path, monkeypatch
    ):
        """The second wall: psql 15.14+ under our own `\\restrict` key runs no command, even
        after the dump's own `\\unrestrict`."""
        monkeypatch.setattr(targets, "input_guard", lambda *_: PassThrough(b"\\restrict 0ur\n"))
        marker = tmp_path / unique("pwned_")
        spec, database = pg_target
        dump = f"\\restrict k\nSELECT 1;\n\\unrestrict k\n\\! touch {marker}\n".encode()
        reason = await feed(gateway, spec, database, dump)

        assert "backslash commands are restricted" in reason, reason
        assert not marker.exists()


class TestMariadbRunsNoCommandFromTheDump:
    async def test_the_filter_refuses_with_the_line_and_no_file_appears(
        self, gateway, maria_target, tmp_path
    ):
        marker = tmp_path / unique("pwned_")
        spec, database = maria_target
        dump = f"CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES ('\\\\');\n\\! touch {marker}\n"
        reason = await feed(gateway, spec, database, dump.encode())

        assert reason == (
            "the dump contains a mysql client command outside a string (line 3): refused"
        )
        assert not marker.exists()

    @pytest.mark.parametrize("command", ["\\! touch {marker}", "system touch {marker}"])
    async def test_the_client_alone_refuses_it_in_binary_mode_and_sandbox(
        self, gateway, maria_target, tmp_path, monkeypatch, command
    ):
        monkeypatch.setattr(targets, "input_guard", lambda *_: PassThrough())
        marker = tmp_path / unique("pwned_")
        spec, database = maria_target
        dump = f"SELECT 1;\n{command.format(marker=marker)}\n".encode()
        await feed(gateway, spec, database, dump)

        assert not marker.exists()


TRICKY_SOURCE = r"""
CREATE TABLE "odd\name" (id int, "x$y" text, note text);
COMMENT ON TABLE "odd\name" IS 'C:\path\ends\with\';
INSERT INTO "odd\name" VALUES (1, E'\\.', E'line\n\\! not a command'), (2, 'żółw \ ✓', NULL);
CREATE TABLE stdin (a int);
CREATE FUNCTION atomic_one() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN true THEN 1 ELSE 2 END;
END;
CREATE FUNCTION body() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  RETURN '
\! a backslash line inside a string, not a command
';
END $f$;
CREATE VIEW v AS SELECT replace(note, '\', '/') AS n FROM "odd\name";
"""


class TestRealDumpsStillRestore:
    async def test_a_pg_dump_with_quoting_traps_restores_through_the_filter(
        self, gateway, pg_target, postgres_url
    ):
        spec, database = pg_target
        source = unique("dbm_tricky_")
        await gateway.create(spec, source)
        try:
            conn = await asyncpg.connect(pg_url(postgres_url, source))
            await conn.execute(TRICKY_SOURCE)
            await conn.close()
            dump = run_tool(["pg_dump", pg_url(postgres_url, source)]).encode()
            assert b"\\restrict " in dump
            tool = await gateway.client_tool(spec)
            async with gateway.feeding(spec, database, tool) as client:
                for i in range(0, len(dump), 7):
                    await client.write(dump[i : i + 7])
                await client.finish()
            conn = await asyncpg.connect(pg_url(postgres_url, database))
            try:
                rows = await conn.fetch('SELECT id, "x$y", note FROM "odd\\name" ORDER BY id')
                assert [tuple(r) for r in rows] == [
                    (1, "\\.", "line\n\\! not a command"),
                    (2, "żółw \\ ✓", None),
                ]
                assert await conn.fetchval("SELECT atomic_one()") == 1
                assert "backslash line" in await conn.fetchval("SELECT body()")
            finally:
                await conn.close()
        finally:
            await gateway.drop(spec, source)


MARIA_TRICKY = [
    "CREATE TABLE `odd\\name` (id INT PRIMARY KEY, note TEXT)",
    "INSERT INTO `odd\\name` VALUES (1, 'a\\\\b\\nc\\'d'), (2, '\\\\! not a command'), (3, '\"')",
    "CREATE PROCEDURE p() BEGIN SELECT 'x;\n\\\\! inside a string\n' AS s; END",
]


class TestRealMariadbDumpsStillRestore:
    async def test_a_mariadb_dump_with_quoting_traps_restores_through_the_filter(
        self, gateway, maria_target, mariadb
    ):
        spec, database = maria_target
        source = unique("dbm_tricky_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
        try:
            with mariadb.connect(source) as conn, conn.cursor() as cur:
                for statement in MARIA_TRICKY:
                    cur.execute(statement)
                conn.commit()
                cur.execute("SELECT id, note FROM `odd\\name` ORDER BY id")
                expected = cur.fetchall()
            dump = run_tool(
                [
                    "mariadb-dump",
                    f"--host={mariadb.host}",
                    f"--port={mariadb.port}",
                    f"--user={mariadb.user}",
                    f"--password={mariadb.password}",
                    "--routines",
                    source,
                ]
            ).encode()
            tool = await gateway.client_tool(spec)
            async with gateway.feeding(spec, database, tool) as client:
                for i in range(0, len(dump), 5):
                    await client.write(dump[i : i + 5])
                await client.finish()
            with mariadb.connect(database) as conn, conn.cursor() as cur:
                cur.execute("SELECT id, note FROM `odd\\name` ORDER BY id")
                assert cur.fetchall() == expected
                cur.execute("CALL p()")
                assert "inside a string" in cur.fetchone()[0]
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
