"""Which dump tool to run, and how: pure decisions about versions, argv and environment.

Passwords never appear in argv: PostgreSQL tools get `PGPASSWORD` in their environment, and
MySQL/MariaDB tools read a 0600 options file named by `--defaults-extra-file` (its first
argument, as the client requires).
"""

import re
from dataclasses import dataclass
from pathlib import Path

from services.dumper.errors import ToolNotFoundError
from shared.specs import ConnectionSpec

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")

PG_DUMP = "pg_dump"
MYSQL_DUMPS: dict[str, tuple[str, ...]] = {
    # MySQL client flags on MariaDB are a supported case: `mysql` servers get mysqldump.
    "mariadb": ("mariadb-dump", "mysqldump"),
    "mysql": ("mysqldump",),
}
MYSQL_CLIENTS: dict[str, tuple[str, ...]] = {
    "mariadb": ("mariadb", "mysql"),
    "mysql": ("mysql",),
}
MYSQL_DUMP_FLAGS = (
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    "--skip-dump-date",
)
PG_DUMP_FLAGS = ("--format=plain", "--no-password")


@dataclass(frozen=True)
class Tool:
    """An installed executable and the version line it reports."""

    path: Path
    version: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def major(self) -> int | None:
        """The major version in `version`, e.g. 15 for `pg_dump (PostgreSQL) 15.20`."""
        return major_version(self.version.split(")", 1)[-1])


def major_version(text: str) -> int | None:
    """The first version number's major part in `text`, or None."""
    found = _VERSION.search(text)
    return int(found.group(1)) if found else None


def choose_pg_dump(candidates: list[Tool], server_version: str) -> Tool:
    """The pg_dump closest to the server's major version but not older than it.

    pg_dump refuses servers newer than itself; the closest newer one writes the dump that
    restores most cleanly into a server of the same version.
    """
    server_major = major_version(server_version)
    usable = [
        tool
        for tool in candidates
        if tool.major is not None and (server_major is None or tool.major >= server_major)
    ]
    if usable:
        return min(usable, key=lambda tool: tool.major or 0)
    found = ", ".join(f"{tool.version} ({tool.path})" for tool in candidates) or "none"
    raise ToolNotFoundError(
        f"pg_dump {server_major} or newer is needed for server version {server_version}; "
        f"found: {found}"
    )


def pg_environment(
    spec: ConnectionSpec, *, database: str, connect_timeout: int, ca_file: Path | None = None
) -> dict[str, str]:
    """Environment for psql/pg_dump: the connection (password included) without any argv.

    TLS: `tls_mode` is libpq's sslmode itself; the CA, when given, sits in a 0600 file.
    """
    tls: dict[str, str] = {"PGSSLMODE": spec.tls_mode} if spec.tls_mode else {}
    if ca_file is not None:
        tls["PGSSLROOTCERT"] = str(ca_file)
    return tls | {
        "PGHOST": spec.host,
        "PGPORT": str(spec.port),
        "PGUSER": spec.username,
        "PGPASSWORD": spec.password.get_secret_value(),
        "PGDATABASE": database,
        "PGCONNECT_TIMEOUT": str(connect_timeout),
        "PGAPPNAME": "databasement-dumper",
        "LC_ALL": "C",
    }


def pg_dump_argv(tool: Tool) -> list[str]:
    """`pg_dump --format=plain`; the database comes from PGDATABASE, so no name can inject."""
    return [str(tool.path), *PG_DUMP_FLAGS]


def mysql_tls_options(spec: ConnectionSpec, *, ca_file: Path | None = None) -> list[str]:
    """The MariaDB client's ssl options for a libpq-style `tls_mode`.

    disable -> skip-ssl; prefer (or none) -> the client's default; require -> ssl;
    verify-ca / verify-full -> ssl, ssl-verify-server-cert and the CA when given.
    """
    mode = spec.tls_mode
    if mode == "disable":
        return ["skip-ssl"]
    lines = [] if mode in {None, "prefer"} else ["ssl"]
    if ca_file is not None and mode in {"require", "verify-ca", "verify-full"}:
        lines.append(f"ssl-ca={_quoted(str(ca_file))}")
    if mode in {"verify-ca", "verify-full"}:
        lines.append("ssl-verify-server-cert")
    return lines


def mysql_options(
    spec: ConnectionSpec, *, connect_timeout: int, ca_file: Path | None = None
) -> str:
    """The `[client]` options file a MySQL/MariaDB tool reads its connection from."""
    lines = [
        "[client]",
        f"host={_quoted(spec.host)}",
        f"port={spec.port}",
        f"user={_quoted(spec.username)}",
        f"password={_quoted(spec.password.get_secret_value())}",
        *mysql_tls_options(spec, ca_file=ca_file),
        # Only the interactive clients know connect-timeout; they probe the server first.
        "[mysql]",
        f"connect-timeout={connect_timeout}",
        "[mariadb-client]",
        f"connect-timeout={connect_timeout}",
    ]
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def mysql_dump_argv(tool: Tool, *, options_file: Path, database: str) -> list[str]:
    """`mysqldump --single-transaction --routines --triggers --events DB`, password-free."""
    return [
        str(tool.path),
        f"--defaults-extra-file={options_file}",
        *MYSQL_DUMP_FLAGS,
        "--",
        database,
    ]


def mysql_query_argv(
    client: Path, *, options_file: Path, query: str, database: str | None = None
) -> list[str]:
    """The `mysql`/`mariadb` client running one query, tab-separated without headers."""
    argv = [str(client), f"--defaults-extra-file={options_file}", "-N", "-B", "-e", query]
    return [*argv, "--", database] if database is not None else argv


MYSQL_ENVIRONMENT = {"LC_ALL": "C"}
"""The MySQL tools' environment: nothing but the locale; secrets sit in the options file."""


@dataclass(frozen=True)
class DumpPlan:
    """Everything needed to run one dump: the command, its environment, what it reports."""

    tool: Tool
    argv: list[str]
    env: dict[str, str]
    server_version: str
    secrets: tuple[str, ...]
    """Strings that must never leave the dumper (removed from the tool's stderr)."""
    database_size: int | None = None
    """The database's size as its server reports it, None when it would not say."""
