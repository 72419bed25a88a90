"""Running the `databasement` CLI as a subprocess, the way an operator's script does."""

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, unique

CLI = Path(sys.executable).with_name("databasement")


@dataclass
class Cli:
    """`databasement` pointed at one API with one token (None: no token at all)."""

    url: str
    token: str | None

    async def run(
        self, *args: str, stdin: str | None = None, token: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASEMENT_")}
        env["DATABASEMENT_URL"] = self.url
        if (token or self.token) is not None:
            env["DATABASEMENT_TOKEN"] = token or self.token or ""
        env["COLUMNS"] = "200"
        return await asyncio.to_thread(
            subprocess.run,
            [str(CLI), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )


def assert_one_sentence(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failure: non-zero exit, one line on stderr naming the cause, and no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("databasement: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result.stderr


async def tiny_postgres(admin_url: str) -> str:
    """A small PostgreSQL database of its own: a table of a few hundred rows."""
    name = unique("dbm_cli_")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_url(admin_url, name))
    try:
        await conn.execute(
            "CREATE TABLE notes AS SELECT g AS id, md5(g::text) AS digest"
            " FROM generate_series(1, 500) AS g"
        )
    finally:
        await conn.close()
    return name


async def drop_postgres(admin_url: str, name: str) -> None:
    drop_pg_database_later(admin_url, name)
