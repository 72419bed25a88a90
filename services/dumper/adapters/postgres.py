"""Ask a PostgreSQL server its version and databases (asyncpg), with errors in words."""

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.dumper.errors import ServerUnreachableError
from shared.specs import ConnectionSpec

VERSION = "SHOW server_version"
DATABASES = """
SELECT datname FROM pg_database
WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'
ORDER BY datname
"""


@asynccontextmanager
async def _connected(
    spec: ConnectionSpec, *, database: str, within: float
) -> AsyncIterator[asyncpg.Connection]:
    where = f"PostgreSQL at {spec.host}:{spec.port}"
    try:
        conn = await asyncpg.connect(
            host=spec.host,
            port=spec.port,
            user=spec.username,
            password=spec.password.get_secret_value(),
            database=database,
            timeout=within,
            ssl="prefer",
            server_settings={"application_name": "databasement-dumper"},
        )
    except asyncpg.InvalidCatalogNameError as exc:
        raise ServerUnreachableError(f"{where}: {exc}") from None
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
    async with _connected(spec, database=database, within=within) as conn:
        version: str = await conn.fetchval(VERSION)
        return version


async def user_databases(spec: ConnectionSpec, *, within: float) -> list[str]:
    """Databases a backup can take: templates and `postgres` left out."""
    async with _connected(spec, database="postgres", within=within) as conn:
        rows = await conn.fetch(DATABASES)
        return [row["datname"] for row in rows]
