"""The dumper on the real broker against real PostgreSQL and MariaDB servers."""

import asyncio
import gzip
import io
import os
import uuid

import asyncpg
import pytest
import zstandard
from faststream import TestApp

from services.dumper.app import build_app
from shared.events import ChunkStaged, DumpFailed, DumpFinished, DumpStarted
from shared.queries import ListDatabases
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import (
    maria_spec,
    pg_spec,
    pg_url,
    run_tool,
    staged_files,
)

pytestmark = pytest.mark.integration

PG_SOURCE = """
CREATE TABLE items (id int PRIMARY KEY, txt text NOT NULL, n numeric(10, 2));
INSERT INTO items
SELECT g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text), g / 7.0
FROM generate_series(1, 250000) g;
CREATE VIEW big_items AS SELECT id FROM items WHERE n > 1000;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.n := coalesce(NEW.n, 0); RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION touch();
"""
PG_FINGERPRINT = "SELECT count(*), md5(string_agg(txt || n::text, ',' ORDER BY id)) FROM items"


def gunzip_or_unzstd(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.decompress(data)
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    return reader.read()


class TestPostgresDump:
    async def test_a_dump_spanning_chunks_restores_into_a_fresh_database(
        self, dumper, postgres_url, pg_source
    ):
        source, target = await pg_source(), await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        await conn.execute(PG_SOURCE)
        expected = tuple(await conn.fetchrow(PG_FINGERPRINT))
        await conn.close()

        request = dumper.request(pg_spec(postgres_url), source)
        await dumper.publish(request)
        finished = await dumper.outcome(request.snapshot_id)

        assert isinstance(finished, DumpFinished), finished
        assert finished.table_rows == {"public.items": 250000}
        started = dumper.of(request.snapshot_id, DumpStarted)
        assert started[0].attempt == 1
        assert started[0].tool == "pg_dump"
        staged = dumper.of(request.snapshot_id, ChunkStaged)
        assert finished.chunk_count == len(staged) >= 3
        artifact = dumper.artifact(finished)
        assert len(artifact) == finished.size
        sql = gzip.decompress(artifact)
        assert len(sql) == finished.raw_size
        run_tool(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg_url(postgres_url, target)], data=sql)
        conn = await asyncpg.connect(pg_url(postgres_url, target))
        try:
            assert tuple(await conn.fetchrow(PG_FINGERPRINT)) == expected
            assert await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
            assert await conn.fetchval("SELECT count(*) FROM pg_views WHERE viewname='big_items'")
        finally:
            await conn.close()
        assert not staged_files(dumper.staging.root, request.snapshot_id)


MARIA_SOURCE = [
    "CREATE TABLE items (id int PRIMARY KEY, txt text NOT NULL, n decimal(10,2))",
    (
        "INSERT INTO items SELECT seq, CONCAT(MD5(seq), MD5(seq * 7), MD5(seq * 13)), seq / 7 "
        "FROM seq_1_to_150000"
    ),
    "CREATE VIEW big_items AS SELECT id FROM items WHERE n > 1000",
    "CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2",
    "CREATE TRIGGER items_touch BEFORE INSERT ON items FOR EACH ROW SET NEW.n = IFNULL(NEW.n, 0)",
]
MARIA_FINGERPRINT = "SELECT COUNT(*), SUM(CRC32(CONCAT(txt, n))) FROM items"


class TestMariaDump:
    @pytest.mark.parametrize(
        ("server_type", "compression"),
        [("mariadb", "gzip"), ("mysql", "zstd")],
        ids=["mariadb-dump-gzip", "mysql-client-flags-zstd"],
    )
    async def test_a_dump_spanning_chunks_restores_into_a_fresh_database(
        self, dumper, mariadb: MariaDB, server_type, compression
    ):
        source, target = unique("dbm_src_"), unique("dbm_dst_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
            cur.execute(f"CREATE DATABASE `{target}`")
        try:
            with mariadb.connect(source) as conn, conn.cursor() as cur:
                for statement in MARIA_SOURCE:
                    cur.execute(statement)
                cur.execute(MARIA_FINGERPRINT)
                expected = cur.fetchone()

            request = dumper.request(
                maria_spec(mariadb, server_type), source, compression=compression
            )
            await dumper.publish(request)
            finished = await dumper.outcome(request.snapshot_id)

            assert isinstance(finished, DumpFinished), finished
            assert finished.table_rows == {"items": 150000}
            tool = dumper.of(request.snapshot_id, DumpStarted)[0].tool
            assert tool == ("mariadb-dump" if server_type == "mariadb" else "mysqldump")
            assert finished.chunk_count >= 2
            sql = gunzip_or_unzstd(dumper.artifact(finished), compression)
            assert len(sql) == finished.raw_size
            client = ["mysql", "-h", mariadb.host, "-P", str(mariadb.port), "-u", mariadb.user]
            env = {**os.environ, "MYSQL_PWD": mariadb.password}
            run_tool([*client, target], data=sql, env=env)
            with mariadb.connect(target) as conn, conn.cursor() as cur:
                cur.execute(MARIA_FINGERPRINT)
                assert cur.fetchone() == expected
                cur.execute("SHOW TRIGGERS")
                assert cur.fetchall()
                cur.execute("SELECT twice(21)")
                assert cur.fetchone() == (42,)
            assert not staged_files(dumper.staging.root, request.snapshot_id)
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
                cur.execute(f"DROP DATABASE IF EXISTS `{target}`")


class TestFailures:
    async def failure(self, dumper, spec, database: str) -> DumpFailed:
        request = dumper.request(spec, database)
        await dumper.publish(request)
        outcome = await dumper.outcome(request.snapshot_id)
        assert isinstance(outcome, DumpFailed), outcome
        assert not staged_files(dumper.staging.root, request.snapshot_id)
        assert spec.password.get_secret_value() not in outcome.model_dump_json() or not (
            spec.password.get_secret_value()
        )
        return outcome

    async def test_a_missing_postgres_database_is_named(self, dumper, postgres_url):
        name = unique("dbm_missing_")
        outcome = await self.failure(dumper, pg_spec(postgres_url), name)
        assert f'database "{name}" does not exist' in outcome.reason

    async def test_an_unknown_postgres_role_is_named(self, dumper, postgres_url):
        outcome = await self.failure(dumper, pg_spec(postgres_url, user="nobody_here"), "x")
        assert 'role "nobody_here" does not exist' in outcome.reason

    async def test_an_unreachable_postgres_host_says_so(self, dumper, postgres_url):
        outcome = await self.failure(dumper, pg_spec(postgres_url, port=1), "x")
        assert "unreachable" in outcome.reason
        assert "connection refused" in outcome.reason

    async def test_a_wrong_mariadb_password_is_named_without_the_password(self, dumper, mariadb):
        spec = maria_spec(mariadb, password="Wr0ng-Passw0rd!")
        outcome = await self.failure(dumper, spec, "mysql")
        assert "Access denied" in outcome.reason
        assert "Wr0ng-Passw0rd!" not in outcome.reason

    async def test_a_missing_mariadb_database_is_named(self, dumper, mariadb):
        outcome = await self.failure(dumper, maria_spec(mariadb), "dbm_missing_x")
        assert "Unknown database 'dbm_missing_x'" in outcome.reason

    async def test_an_unreachable_mariadb_host_says_so(self, dumper, mariadb):
        spec = maria_spec(mariadb).model_copy(update={"port": 1})
        outcome = await self.failure(dumper, spec, "mysql")
        assert "Can't connect" in outcome.reason

    async def test_a_redelivered_handled_request_is_skipped(self, dumper, postgres_url):
        request = dumper.request(pg_spec(postgres_url), unique("dbm_missing_"))
        await dumper.publish(request)
        await dumper.outcome(request.snapshot_id)
        await dumper.publish(request)
        sentinel = dumper.request(pg_spec(postgres_url), unique("dbm_missing_"))
        await dumper.publish(sentinel)
        await dumper.outcome(sentinel.snapshot_id)
        assert len(dumper.of(request.snapshot_id, DumpFailed)) == 1


class TestListDatabases:
    async def test_postgres_lists_user_databases_only(self, dumper, postgres_url, pg_source):
        name = await pg_source()
        sealed = dumper.sealer.seal(pg_spec(postgres_url))
        reply = await dumper.ask(ListDatabases(connection=sealed))
        assert reply["ok"], reply
        assert name in reply["databases"]
        assert not {"postgres", "template0", "template1"} & set(reply["databases"])

    async def test_mariadb_lists_user_databases_only(self, dumper, mariadb, maria_database):
        sealed = dumper.sealer.seal(maria_spec(mariadb))
        reply = await dumper.ask(ListDatabases(connection=sealed))
        assert reply["ok"], reply
        assert maria_database in reply["databases"]
        system = {"mysql", "sys", "information_schema", "performance_schema"}
        assert not system & set(reply["databases"])

    async def test_a_bad_password_gives_a_sentence(self, dumper, mariadb):
        sealed = dumper.sealer.seal(maria_spec(mariadb, password=str(uuid.uuid4())))
        reply = await dumper.ask(ListDatabases(connection=sealed))
        assert reply == {"ok": False, "error": reply["error"]}
        assert "Access denied" in reply["error"]

    async def test_an_unreachable_server_gives_a_sentence(self, dumper, postgres_url):
        sealed = dumper.sealer.seal(pg_spec(postgres_url, port=1))
        reply = await dumper.ask(ListDatabases(connection=sealed))
        assert not reply["ok"]
        assert "unreachable" in reply["error"]


class TestStopMidDump:
    async def test_a_stopped_dumper_leaves_its_attempt_to_the_uploader_and_the_redelivery_completes(
        self, dumper_env, postgres_url, pg_source
    ):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        await conn.execute(PG_SOURCE)
        await conn.close()
        request = dumper_env.request(pg_spec(postgres_url), source)
        stalled = dumper_env.settings.model_copy(update={"max_staged_chunks": 1})
        dumper_env.take_chunks = False  # the uploader is away: the dump waits on chunk 1

        async with TestApp(build_app(stalled)):
            await dumper_env.publish(request)
            async with asyncio.timeout(30):
                while not dumper_env.of(request.snapshot_id, ChunkStaged):
                    await asyncio.sleep(0.05)
        first = dumper_env.of(request.snapshot_id, DumpStarted)[0]
        # The announced chunk is the uploader's now (it may be reading it): it stays until
        # another attempt is stored; nothing the uploader was not told of is left.
        left = set(staged_files(dumper_env.staging.root, request.snapshot_id))
        assert left == dumper_env.announced_files(request.snapshot_id)
        assert not dumper_env.of(request.snapshot_id, DumpFinished)

        dumper_env.take_chunks = True
        async with TestApp(build_app(dumper_env.settings)):
            finished = await dumper_env.outcome(request.snapshot_id)
        assert isinstance(finished, DumpFinished), finished
        assert finished.attempt_id != first.attempt_id
        second = dumper_env.of(request.snapshot_id, DumpStarted)[-1]
        assert (first.attempt, second.attempt) == (1, 2)
        assert gzip.decompress(dumper_env.artifact(finished))
