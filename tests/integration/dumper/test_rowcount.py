"""Rows per table counted from real pg_dump / mariadb-dump streams land in DumpFinished."""

import asyncpg
import pytest

from shared.events import DumpFinished
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import maria_spec, pg_spec, pg_url

pytestmark = pytest.mark.integration

PG_SOURCE = r"""
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."odd ""name"", here" (id int, "x y" text);
INSERT INTO "My Schema"."odd ""name"", here" VALUES (1, 'a'), (2, E'\\.'), (3, NULL);
CREATE TABLE public.tricky (id int PRIMARY KEY, t text, b bytea);
INSERT INTO public.tricky VALUES
  (1, E'\\.', E'\\x5c2e0a'),
  (2, E'line\n\\.\nCOPY public.tricky FROM stdin;\n', NULL),
  (3, E'tab\there\\\\back', E'\\x00ff'),
  (4, '', ''),
  (5, NULL, NULL);
INSERT INTO public.tricky SELECT g, repeat(md5(g::text), 50), NULL FROM generate_series(6, 3000) g;
CREATE TABLE public.empty (id int);
CREATE TABLE public.no_columns ();
INSERT INTO public.no_columns DEFAULT VALUES;
INSERT INTO public.no_columns DEFAULT VALUES;
CREATE VIEW public.v AS SELECT id FROM public.tricky;
CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.tricky;
CREATE FUNCTION public.body() RETURNS text LANGUAGE sql AS $$ SELECT 'COPY public.x FROM stdin;' $$;
"""
PG_ROWS = {
    'My Schema.odd "name", here': 3,
    "public.tricky": 3000,
    "public.empty": 0,
    "public.no_columns": 2,
}

MARIA_SOURCE = [
    "CREATE TABLE items (id int PRIMARY KEY, t text, b blob)",
    r"""INSERT INTO items VALUES
        (1, 'it''s (here)', NULL), (2, 'x),(y', 'x),(y'), (3, 'ends \\', '\\'),
        (4, 'semi;\n(new);\nline', ''), (5, '"q" \'q\' `q`', NULL), (6, '', 0x00272829275c0a3b)""",
    "INSERT INTO items SELECT seq, REPEAT('(a''b),', 40), UNHEX(MD5(seq)) FROM seq_7_to_20000",
    "CREATE TABLE `we``ird (t` (id int)",
    "INSERT INTO `we``ird (t` VALUES (1), (2)",
    "CREATE TABLE empty_t (id int)",
    "CREATE VIEW v AS SELECT id FROM items",
    "CREATE PROCEDURE p() INSERT INTO empty_t VALUES (1), (2), (3)",
    "CREATE TRIGGER trg BEFORE INSERT ON empty_t FOR EACH ROW SET NEW.id = NEW.id + 0",
]
MARIA_ROWS = {"items": 20000, "we`ird (t": 2, "empty_t": 0}


class TestRowCountsAtDumpTime:
    async def test_postgres_counts_every_table_in_the_stream(self, dumper, postgres_url, pg_source):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        try:
            await conn.execute(PG_SOURCE)
        finally:
            await conn.close()
        request = dumper.request(pg_spec(postgres_url), source)
        await dumper.publish(request)
        finished = await dumper.outcome(request.snapshot_id)
        assert isinstance(finished, DumpFinished), finished
        assert finished.table_rows == PG_ROWS

    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_mariadb_counts_every_table_in_the_stream(
        self, dumper, mariadb: MariaDB, compression
    ):
        source = unique("dbm_src_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
        try:
            with mariadb.connect(source) as conn, conn.cursor() as cur:
                for statement in MARIA_SOURCE:
                    cur.execute(statement)
            request = dumper.request(maria_spec(mariadb), source, compression=compression)
            await dumper.publish(request)
            finished = await dumper.outcome(request.snapshot_id)
            assert isinstance(finished, DumpFinished), finished
            assert finished.table_rows == MARIA_ROWS
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
