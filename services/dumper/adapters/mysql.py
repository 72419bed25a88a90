"""Talk to MySQL/MariaDB through their own clients, the password in a 0600 options file."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from services.dumper.adapters.files import optional_file, private_file
from services.dumper.adapters.process import run_captured
from services.dumper.errors import ServerUnreachableError
from services.dumper.stderr import sanitise
from services.dumper.tools import MYSQL_ENVIRONMENT, mysql_options, mysql_query_argv
from shared.specs import ConnectionSpec

DATABASE_SIZE = (
    "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
    "WHERE table_schema = DATABASE()"
)
SYSTEM_DATABASES = frozenset({"mysql", "sys", "information_schema", "performance_schema"})


@contextlib.contextmanager
def options_file(spec: ConnectionSpec, *, connect_timeout: int) -> Iterator[Path]:
    """A private options file holding the connection (and a CA file beside it when the
    connection names one); both deleted when the block ends."""
    with optional_file(spec.tls_ca, suffix=".pem") as ca_file:
        text = mysql_options(spec, connect_timeout=connect_timeout, ca_file=ca_file)
        with private_file(text, suffix=".cnf") as path:
            yield path


async def query(
    client: Path,
    spec: ConnectionSpec,
    sql: str,
    *,
    database: str | None = None,
    options: Path,
    within: float,
) -> list[str]:
    """The first column of every row `sql` returns."""
    rows = await _rows(client, spec, sql, database=database, options=options, within=within)
    return [columns[0] for columns in rows]


async def row(
    client: Path, spec: ConnectionSpec, sql: str, *, options: Path, within: float
) -> list[str]:
    """Every column of the first row `sql` returns; [] when it returns none."""
    rows = await _rows(client, spec, sql, database=None, options=options, within=within)
    return rows[0] if rows else []


async def _rows(
    client: Path,
    spec: ConnectionSpec,
    sql: str,
    *,
    database: str | None,
    options: Path,
    within: float,
) -> list[list[str]]:
    # Batch mode escapes a tab inside a value as `\t`, so a raw tab always separates columns.
    argv = mysql_query_argv(client, options_file=options, query=sql, database=database)
    code, out, err = await run_captured(argv, MYSQL_ENVIRONMENT, within=within)
    if code != 0:
        detail = sanitise(err, secrets=(spec.password.get_secret_value(),))
        raise ServerUnreachableError(
            f"cannot connect to {spec.type} at {spec.host}:{spec.port}: {detail}",
            exit_code=code,
        )
    return [line.split("\t") for line in out.splitlines() if line]


async def server_version(
    client: Path, spec: ConnectionSpec, *, database: str | None, options: Path, within: float
) -> str:
    """`SELECT VERSION()` in `database`, so a missing database or bad login shows now."""
    rows = await query(
        client, spec, "SELECT VERSION()", database=database, options=options, within=within
    )
    return rows[0] if rows else "unknown"


async def database_size(
    client: Path, spec: ConnectionSpec, *, database: str, options: Path, within: float
) -> int | None:
    """Bytes of the tables of `database` the user sees; None when the server would not say."""
    try:
        rows = await query(
            client, spec, DATABASE_SIZE, database=database, options=options, within=within
        )
    except ServerUnreachableError:
        return None
    return int(rows[0]) if rows and rows[0].isdigit() else None


async def user_databases(
    client: Path, spec: ConnectionSpec, *, options: Path, within: float
) -> list[str]:
    """Databases a backup can take: the system schemas left out."""
    rows = await query(client, spec, "SHOW DATABASES", options=options, within=within)
    return sorted(name for name in rows if name not in SYSTEM_DATABASES)


async def grants(client: Path, spec: ConnectionSpec, *, options: Path, within: float) -> list[str]:
    """`SHOW GRANTS` of the connected user: one `GRANT ... ON ... TO ...` line each.

    The lines may carry a password hash; they are parsed, never logged or returned.
    """
    return await query(client, spec, "SHOW GRANTS", options=options, within=within)
