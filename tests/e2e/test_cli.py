"""The `databasement` CLI as a subprocess against the running stack: exit codes and output.

Covers the operator's path (add a server, test it, add a volume, back up with wait, list,
download) and the failures a script must be able to tell apart: a failed backup (exit 3,
the reason on stderr), a request the API refuses, a bad token and an unreachable API.
"""

import json
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.cli import Cli, assert_one_sentence, drop_postgres, tiny_postgres
from tests.fixtures.resources import unique
from tests.support.env import free_port

pytestmark = [pytest.mark.e2e]

EXIT_FAILED = 3


@pytest.fixture
def cli(stack) -> Cli:
    return Cli(stack.api_url, stack.token)


@pytest.fixture
async def tiny_db(postgres_url: str) -> AsyncIterator[str]:
    name = await tiny_postgres(postgres_url)
    yield name
    await drop_postgres(postgres_url, name)


async def add_pg_server(
    cli: Cli, name: str, *, port: int = 5432, database: str | None = None
) -> dict:
    """The local PostgreSQL (trust auth); `database` scopes its connection test."""
    scope = ["--database", database] if database else []
    result = await cli.run(
        "servers", "add", name, "--type", "postgresql", "--host", "127.0.0.1",
        "--port", str(port), "--username", "postgres", "--password-stdin", "--json", *scope,
        stdin="trust-auth\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def add_s3_volume(
    cli: Cli, name: str, s3_server, bucket: str
) -> subprocess.CompletedProcess[str]:
    """`volumes add` of an S3 volume, the secret key given on stdin (never in argv)."""
    return await cli.run(
        "volumes", "add", name, "--type", "s3", "--endpoint", s3_server.endpoint,
        "--bucket", bucket, "--access-key", s3_server.admin.access_key,
        "--secret-key-stdin", "--insecure", "--json",
        stdin=s3_server.admin.secret_key + "\n",
    )  # fmt: skip


async def add_local_volume(cli: Cli, name: str, path: Path, *options: str) -> dict:
    result = await cli.run(
        "volumes", "add", name, "--type", "local", "--path", str(path), "--json", *options
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class TestCliBackup:
    async def test_add_test_backup_list_and_download(self, cli, tiny_db, tmp_path):
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        # Scoped to its database, so the privilege check ignores other tests' databases.
        server = await add_pg_server(cli, server_name, database=tiny_db)
        assert "password" not in json.dumps(server)

        tested = await cli.run("servers", "test", server_name, "--json")
        assert tested.returncode == 0, tested.stdout + tested.stderr
        answer = json.loads(tested.stdout)
        checks = {c["check"]: c for c in answer["checks"]}
        assert answer["archiving"]["summary"].startswith("ready for point-in-time recovery: ")
        assert {"reachable", "authenticated", "dump_tool"} <= checks.keys()
        assert all(c["ok"] for c in checks.values())

        listed = await cli.run("servers", "databases", server_name, "--json")
        assert listed.returncode == 0, listed.stderr
        assert tiny_db in json.loads(listed.stdout)

        (tmp_path / "volume").mkdir()
        await add_local_volume(cli, volume_name, tmp_path / "volume")
        backed_up = await cli.run(
            "backup", server_name, "--database", tiny_db, "--volume", volume_name, "--json"
        )
        assert backed_up.returncode == 0, backed_up.stderr
        [snapshot] = json.loads(backed_up.stdout)
        assert snapshot["status"] == "completed"
        assert snapshot["size"] > 0

        page = await cli.run("snapshots", "list", "--server", server_name, "--json")
        assert page.returncode == 0, page.stderr
        items = json.loads(page.stdout)["items"]
        assert [s["id"] for s in items] == [snapshot["id"]]
        assert items[0]["status"] == "completed"

        human = await cli.run("snapshots", "list", "--server", server["id"])
        assert human.returncode == 0, human.stderr
        assert snapshot["id"] in human.stdout

        target = tmp_path / "artifact.sql.gz"
        fetched = await cli.run("snapshots", "download", snapshot["id"], "-o", str(target))
        assert fetched.returncode == 0, fetched.stderr
        assert target.stat().st_size == snapshot["size"]
        subprocess.run(["gzip", "-t", str(target)], check=True)

    async def test_s3_volume_download_follows_the_presigned_redirect(
        self, cli, tiny_db, tmp_path, s3_server, s3_bucket
    ):
        server_name, volume_name = unique("cli-pg-"), unique("cli-s3-")
        await add_pg_server(cli, server_name)
        added = await add_s3_volume(cli, volume_name, s3_server, s3_bucket)
        assert added.returncode == 0, added.stderr
        assert s3_server.admin.secret_key not in added.stdout
        backed_up = await cli.run(
            "backup", server_name, "--database", tiny_db, "--volume", volume_name, "--json"
        )
        assert backed_up.returncode == 0, backed_up.stderr
        [snapshot] = json.loads(backed_up.stdout)

        fetched = await cli.run("snapshots", "download", snapshot["id"], "-o", str(tmp_path))

        assert fetched.returncode == 0, fetched.stderr
        artifact = Path(fetched.stdout.strip())
        assert artifact.parent == tmp_path
        assert artifact.name.endswith(".sql.gz")
        assert artifact.stat().st_size == snapshot["size"]
        subprocess.run(["gzip", "-t", str(artifact)], check=True)

    async def test_failed_backup_exits_3_with_the_reason(self, cli, tiny_db, tmp_path):
        """The volume's directory cannot be created (its parent is a file): the upload fails."""
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        await add_pg_server(cli, server_name)
        await add_local_volume(cli, volume_name, blocker / "volume", "--no-test")

        result = await cli.run(
            "backup", server_name, "--database", tiny_db, "--volume", volume_name
        )

        assert result.returncode == EXIT_FAILED, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        [reason] = [line for line in result.stderr.splitlines() if "backup failed" in line]
        assert tiny_db in reason
        assert reason.split(":", 3)[-1].strip() != "no reason given"


class TestCliNewVolume:
    async def test_a_volume_on_a_path_that_does_not_exist_is_made_and_backed_up_to(
        self, cli, tiny_db, tmp_path
    ):
        """`volumes add` tests the volume: the uploader makes the directory, mode 0750."""
        new_dir = tmp_path / "new-dir"
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        await add_pg_server(cli, server_name, database=tiny_db)

        added = await add_local_volume(cli, volume_name, new_dir)

        checks = {c["check"]: c for c in added["checks"]}
        assert list(checks) == ["directory", "write", "read", "delete"]
        assert all(c["ok"] for c in checks.values()), checks
        assert checks["directory"]["detail"].startswith(f"created {new_dir} (mode 750")
        assert new_dir.is_dir()
        assert stat.S_IMODE(new_dir.stat().st_mode) == 0o750
        backed_up = await cli.run(
            "backup", server_name, "--database", tiny_db, "--volume", volume_name, "--json"
        )
        assert backed_up.returncode == 0, backed_up.stderr
        [snapshot] = json.loads(backed_up.stdout)
        assert snapshot["status"] == "completed", snapshot.get("error")
        assert (new_dir / snapshot["path"]).stat().st_size == snapshot["size"]

    async def test_a_first_backup_makes_the_directory_of_an_untested_volume(
        self, cli, tiny_db, tmp_path
    ):
        new_dir = tmp_path / "never-tested"
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        await add_pg_server(cli, server_name)
        await add_local_volume(cli, volume_name, new_dir, "--no-test")
        assert not new_dir.exists()

        backed_up = await cli.run(
            "backup", server_name, "--database", tiny_db, "--volume", volume_name, "--json"
        )

        assert backed_up.returncode == 0, backed_up.stderr
        [snapshot] = json.loads(backed_up.stdout)
        assert (new_dir / snapshot["path"]).is_file()
        assert stat.S_IMODE(new_dir.stat().st_mode) == 0o750

    async def test_a_missing_parent_is_named_when_added_and_exits_3(self, cli, tmp_path):
        path = tmp_path / "unmounted" / "backups"
        volume_name = unique("cli-vol-")

        result = await cli.run(
            "volumes", "add", volume_name, "--type", "local", "--path", str(path)
        )

        assert result.returncode == EXIT_FAILED, result.stdout + result.stderr
        [sentence] = [line for line in result.stderr.splitlines() if line.strip()]
        assert sentence.startswith(f"databasement: volume {volume_name!r} was added, but its test")
        assert f"nor its parent {path.parent}" in sentence
        assert f"databasement volumes test {volume_name}" in sentence
        assert not path.parent.exists()

    async def test_a_missing_bucket_is_named_when_added(self, cli, s3_server):
        bucket, volume_name = unique("dbm-missing-"), unique("cli-s3-")

        result = await add_s3_volume(cli, volume_name, s3_server, bucket)

        assert result.returncode == EXIT_FAILED, result.stdout + result.stderr
        checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
        assert checks["bucket"]["detail"].startswith(
            f"bucket {bucket} does not exist on {s3_server.endpoint}"
        )
        assert f"bucket: bucket {bucket} does not exist" in result.stderr


class TestCliProgress:
    async def test_a_second_backup_shows_percent_and_time_left_against_the_first(
        self, cli, slow_pg, tmp_path
    ):
        """The --json progress lines carry the last completed dump's size as an estimate."""
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        await add_pg_server(cli, server_name, port=slow_pg.port, database=slow_pg.database)
        await add_local_volume(cli, volume_name, tmp_path / "volume")
        backup = ("backup", server_name, "--database", slow_pg.database, "--volume", volume_name)
        first = await cli.run(*backup, "--json")
        assert first.returncode == 0, first.stderr
        [done] = json.loads(first.stdout)
        first_lines = [json.loads(line) for line in first.stderr.splitlines()]
        assert {line["expected_bytes"] for line in first_lines} == {None}  # nothing to go by

        slow_pg.slow_down()
        second = await cli.run(*backup, "--json")

        assert second.returncode == 0, second.stderr
        [snapshot] = json.loads(second.stdout)
        lines = [json.loads(line) for line in second.stderr.splitlines()]
        assert {line["snapshot_id"] for line in lines} == {snapshot["id"]}
        assert {line["expected_bytes"] for line in lines} == {done["bytes_dumped"]}
        running = [line for line in lines if line["status"] == "in_progress"]
        assert all(line["estimate"] and 0 <= line["percent"] < 100 for line in running), running
        timed = [line for line in running if line["eta_seconds"] is not None]
        assert timed, running
        assert all(line["eta_seconds"] > 0 for line in timed), timed
        assert (lines[-1]["status"], lines[-1]["percent"]) == ("completed", 100.0)
        assert lines[-1]["estimate"] is False


class TestCliTokens:
    async def test_created_token_works_until_revoked(self, cli, stack):
        name = unique("cli-token-")
        created = await cli.run("tokens", "create", name)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("dbm_")
        assert token not in created.stderr

        assert (await cli.run("servers", "list", token=token)).returncode == 0
        listed = await cli.run("tokens", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert token not in listed.stdout
        [mine] = [t for t in json.loads(listed.stdout) if t["name"] == name]
        assert mine["last_used_at"] is not None

        revoked = await cli.run("tokens", "revoke", mine["id"])
        assert revoked.returncode == 0, revoked.stderr
        refused = await cli.run("servers", "list", token=token)
        assert_one_sentence(refused, "the API refused the token")
        assert token not in stack.logs()


class TestCliRefusals:
    async def test_unknown_database_is_refused_in_one_sentence(self, cli, tmp_path):
        server_name, volume_name = unique("cli-pg-"), unique("cli-vol-")
        await add_pg_server(cli, server_name)
        await add_local_volume(cli, volume_name, tmp_path)

        result = await cli.run(
            "backup", server_name, "--database", "no_such_db", "--volume", volume_name
        )

        assert_one_sentence(result, "no_such_db", "does not exist")

    async def test_unreachable_server_is_refused_in_one_sentence(self, cli, tmp_path):
        server_name, volume_name = unique("cli-dead-"), unique("cli-vol-")
        await add_pg_server(cli, server_name, port=free_port())
        await add_local_volume(cli, volume_name, tmp_path)

        result = await cli.run("backup", server_name, "--database", "any", "--volume", volume_name)

        assert_one_sentence(result)

    async def test_unknown_server_name_is_one_sentence(self, cli):
        result = await cli.run("servers", "show", "no-such-server")

        assert_one_sentence(result, "no server is named 'no-such-server'")

    async def test_bad_token_is_one_sentence(self, cli):
        result = await cli.run("servers", "list", token="dbm_not-a-real-token")

        assert_one_sentence(result, "the API refused the token")

    async def test_unreachable_api_is_one_sentence(self):
        url = f"http://127.0.0.1:{free_port()}"

        result = await Cli(url, "dbm_whatever").run("snapshots", "list")

        assert_one_sentence(result, f"cannot reach the API at {url}")
