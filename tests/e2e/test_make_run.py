"""`make run`'s last step (scripts/sample_backup.py) against a running stack: the short block
it ends with says where everything is, and each command it prints works as printed."""

import asyncio
import gzip
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.e2e.client import signed_in_client
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, unique

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "scripts" / "sample_backup.py"


def run_sample(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(SAMPLE), "--exit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def block_of(output: str) -> dict[str, str]:
    """The summary's `  Label      value` lines, by label."""
    block = {}
    for line in output.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            label, _, value = line.strip().partition("  ")
            block[label] = value.strip()
    return block


def assert_no_json_document(output: str) -> None:
    for line in output.splitlines():
        assert not line.lstrip().startswith(("{", "[")), line
    assert '"status":' not in output


def run_printed(command: str, cli_line: str) -> subprocess.CompletedProcess[str]:
    """A command as printed, run from the repository with the printed CLI environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASEMENT_")}
    exported = shlex.split(cli_line)
    assert exported[0] == "export"
    env.update(dict(item.split("=", 1) for item in exported[1:]))
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/databasement"
    argv[0] = str(Path(sys.executable).with_name("databasement"))  # the suite's own venv
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )


async def test_the_sample_step_ends_with_a_block_whose_every_line_works(
    stack, tmp_path, postgres_url
):
    database = unique("dbm_sample_")
    try:
        await check_the_sample_step(stack, tmp_path, postgres_url, database)
    finally:
        drop_pg_database_later(postgres_url, database)
        drop_pg_database_later(postgres_url, database + "_restored")


async def check_the_sample_step(stack, tmp_path: Path, postgres_url: str, database: str) -> None:
    admin = unique("sample-admin-")
    env = {
        **stack.env,
        "SAMPLE_DATABASE": database,
        "SAMPLE_VOLUME_PATH": str(tmp_path / "volume"),
        "SAMPLE_ADMIN": admin,
    }

    output = await asyncio.to_thread(run_sample, env)

    assert_no_json_document(output)
    block = block_of(output)
    assert block["Web UI"] == f"{stack.api_url}/ui/"
    assert httpx.get(block["Web UI"], follow_redirects=True).url.path == "/ui/login"
    assert block["API docs"].startswith(f"{stack.api_url}/docs")
    user, _, rest = block["Sign in"].partition(" / ")
    assert user == admin
    password = rest.split()[0]
    signed_in_client(stack, password, user=admin).close()
    assert block["Sample"].startswith(f"{database}: completed, ")
    artifact = Path(block["File"])
    assert artifact.is_file()
    assert artifact.is_relative_to(tmp_path / "volume")
    assert b"CREATE TABLE public.books" in gzip.decompress(artifact.read_bytes())

    shown = await asyncio.to_thread(run_printed, block["Details"], block["CLI"])
    assert shown.returncode == 0, shown.stderr
    snapshot = json.loads(shown.stdout)
    assert snapshot["status"] == "completed"
    assert str(artifact).endswith(snapshot["path"])
    restored = await asyncio.to_thread(run_printed, block["Restore"], block["CLI"])
    assert restored.returncode == 0, restored.stderr
    conn = await asyncpg.connect(database_url(postgres_url, database + "_restored"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM books") == 5000
    finally:
        await conn.close()

    # A second run makes another backup; the password was shown once and is not again.
    again = block_of(await asyncio.to_thread(run_sample, env))
    assert password not in again["Sign in"]
    assert again["Sign in"].startswith(f"{admin}, with the password shown by your first")
    assert again["Sample"].startswith(f"{database}: completed, ")
