"""Ask a PostgreSQL server its version and databases (asyncpg), with errors in words."""

import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg

from services.dumper.errors import DatabaseGoneError, ServerUnreachableError
from shared.specs import ConnectionSpec

VERSION = "SHOW server_version"
DATABASE_SIZE = "SELECT pg_database_size(current_database())"
DATABASES = """
SELECT datname FROM pg_database
WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'
  AND datconnlimit <> -2  -- a DROP DATABASE left unfinished (PostgreSQL 15.4+)
ORDER BY datname
"""
UNREADABLE = r"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'S' AS is_sequence,
       has_schema_privilege(n.oid, 'USAGE')
       AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, 'SELECT')
                ELSE has_table_privilege(c.oid, 'SELECT') END AS readable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY 1, 2
"""


SslOption = Literal["prefer", "require", False] | ssl.SSLContext


def ssl_option(spec: ConnectionSpec) -> SslOption:
    """asyncpg's `ssl` for the connection's `tls_mode` (libpq sslmode semantics)."""
    mode = spec.tls_mode or "prefer"
    if mode == "disable":
        return False
    if mode == "prefer":
        return "prefer"
    if mode == "require":
        return "require"
    context = (
        ssl.create_default_context(cadata=spec.tls_ca)
        if spec.tls_ca
        else ssl.create_default_context()
    )
    context.check_hostname = mode == "verify-full"
    return context


def connect_options(
    spec: ConnectionSpec, *, database: str, within: float, **settings: str
) -> dict[str, Any]:
    """asyncpg.connect's arguments for `spec`; `settings` are extra startup parameters."""
    return {
        "host": spec.host,
        "port": spec.port,
        "user": spec.username,
        "password": spec.password.get_secret_value(),
        "database": database,
        "timeout": within,
        "ssl": ssl_option(spec),
        "server_settings": {"application_name": "databasement-dumper", **settings},
    }


@asynccontextmanager
async def connected(
    spec: ConnectionSpec, *, database: str, within: float
) -> AsyncIterator[asyncpg.Connection]:
    where = f"PostgreSQL at {spec.host}:{spec.port}"
    try:
        conn = await asyncpg.connect(**connect_options(spec, database=database, within=within))
    except asyncpg.InvalidCatalogNameError as exc:
        raise DatabaseGoneError(f"{where}: {exc}") from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise ServerUnreachableError(f"{where} refused the login: {exc}") from None
    except asyncpg.PostgresError as exc:
        raise ServerUnreachableError(f"{where} refused the connection: {exc}") from None
    except TimeoutError:
        raise ServerUnreachableError(
            f"{where} is unreachable: no answer within {within:g} s"
        ) from None
    except OSError as exc:
        raise ServerUnreachableError(f"{where} is unreachable: {_os_reason(exc)}") from None
    try:
        yield conn
    finally:
        await conn.close()


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running and accepting TCP connections?)"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    return exc.strerror or str(exc) or type(exc).__name__


async def server_version(spec: ConnectionSpec, *, database: str, within: float) -> str:
    """The server's version string, connecting to `database` (so a missing one shows now)."""
    async with connected(spec, database=database, within=within) as conn:
        version: str = await conn.fetchval(VERSION)
        return version


async def database_size(spec: ConnectionSpec, *, database: str, within: float) -> int | None:
    """Bytes `database` takes on the server; None when the server would not say."""
    async with connected(spec, database=database, within=within) as conn:
        try:
            size: int | None = await conn.fetchval(DATABASE_SIZE)
        except asyncpg.PostgresError:
            return None
        return size


async def user_databases(spec: ConnectionSpec, *, within: float) -> list[str]:
    """Databases a backup can take: templates and `postgres` left out."""
    async with connected(spec, database="postgres", within=within) as conn:
        rows = await conn.fetch(DATABASES)
        return [row["datname"] for row in rows]


async def unreadable(conn: asyncpg.Connection) -> tuple[list[str], int, int]:
    """(tables and sequences the user cannot SELECT, table count, sequence count)."""
    rows = await conn.fetch(UNREADABLE)
    missing = [f"{row['schema']}.{row['name']}" for row in rows if not row["readable"]]
    sequences = sum(1 for row in rows if row["is_sequence"])
    return missing, len(rows) - sequences, sequences
