"""Source databases for end-to-end tests, and the comparison of a restore with its source."""

import subprocess
from pathlib import Path

import asyncpg

from tests.fixtures.resources import MariaDB

DATA = Path(__file__).parent / "data"

PG_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name
"""
PG_OBJECTS = {
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1",
    "routines": """
        SELECT p.proname, p.prokind, pg_get_functiondef(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1
    """,
    "triggers": """
        SELECT tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        WHERE NOT tgisinternal ORDER BY 1
    """,
    "sequences": """
        SELECT sequencename, last_value, increment_by FROM pg_sequences
        WHERE schemaname = 'public' ORDER BY 1
    """,
    "enums": "SELECT enumlabel FROM pg_enum ORDER BY enumsortorder",
    "generated": """
        SELECT table_name, column_name, generation_expression FROM information_schema.columns
        WHERE table_schema = 'public' AND is_generated = 'ALWAYS' ORDER BY 1, 2
    """,
}


async def load_postgres(url: str) -> None:
    """Fill an empty PostgreSQL database with the rich source schema and its data."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute((DATA / "postgres_source.sql").read_text())
    finally:
        await conn.close()


async def postgres_fingerprint(url: str) -> dict[str, object]:
    """Every table's full content digest and row count, and every schema object's definition."""
    conn = await asyncpg.connect(url)
    try:
        result: dict[str, object] = {}
        for row in await conn.fetch(PG_TABLES):
            table = row["table_name"]
            digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            result[f"table:{table}"] = tuple(
                await conn.fetchrow(f'SELECT count(*), {digest} FROM "{table}" t')
            )
        for name, query in PG_OBJECTS.items():
            result[name] = [tuple(r) for r in await conn.fetch(query)]
        return result
    finally:
        await conn.close()


def load_mariadb(server: MariaDB, database: str) -> None:
    """Fill an empty MariaDB database with the rich source schema and its data."""
    mysql_client(server, database, (DATA / "mariadb_source.sql").read_bytes())


def mysql_client(server: MariaDB, database: str, sql: bytes) -> None:
    """Pipe SQL into the real `mysql` client, as a person restoring a dump would."""
    args = [
        "mysql",
        f"--host={server.host}",
        f"--port={server.port}",
        f"--user={server.user}",
        database,
    ]
    env = {"MYSQL_PWD": server.password, "PATH": "/usr/bin:/bin"}
    subprocess.run(args, input=sql, check=True, capture_output=True, env=env)


MARIA_OBJECTS = {
    "views": """
        SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS
        WHERE TABLE_SCHEMA = %s ORDER BY 1
    """,
    "routines": """
        SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES
        WHERE ROUTINE_SCHEMA = %s ORDER BY 1
    """,
    "triggers": """
        SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_STATEMENT FROM information_schema.TRIGGERS
        WHERE TRIGGER_SCHEMA = %s ORDER BY 1
    """,
    "columns": """
        SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, GENERATION_EXPRESSION
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = %s ORDER BY 1, 2
    """,
}


def mariadb_fingerprint(server: MariaDB, database: str) -> dict[str, object]:
    """Every table's content checksum and row count, and every schema object's definition."""
    result: dict[str, object] = {}
    with server.connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
            " AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
            (database,),
        )
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            count = cur.fetchone()
            cur.execute(f"CHECKSUM TABLE `{table}` EXTENDED")
            checksum = cur.fetchone()
            result[f"table:{table}"] = (count, checksum[1] if checksum else None)
        for name, query in MARIA_OBJECTS.items():
            cur.execute(query, (database,))
            rows = cur.fetchall()
            # Definitions name their own schema; a restore under another name must still match.
            result[name] = [
                tuple(v.replace(database, "<db>") if isinstance(v, str) else v for v in r)
                for r in rows
            ]
    return result
