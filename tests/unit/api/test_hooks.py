"""The operator's hooks: the file, the API's refusal of commands, and what a hook can see.

Hooks here are real processes (no sockets): what they write down is what they saw.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from services.api.configs import BackupSettings
from services.api.errors import InvalidRequestError
from services.api.notifications.hook_catalog import (
    REFUSED_COMMAND,
    HookCatalog,
    HookDefinition,
    HookFileError,
    load_hooks,
)
from services.api.notifications.hooks import HookRunner, hook_environment, outcome
from services.api.notifications.isolation import PR_SET_DUMPABLE, _libc, make_undumpable
from services.api.schemas.backup_configs import BackupConfigUpdate
from shared.events import SnapshotWarned

SECRETS = {
    "SEAL_KEY": "seal-key-that-must-not-leak",
    "API_CREDENTIALS_KEY": "credentials-key-that-must-not-leak",
    "DUMPER_MASTER_KEYS": "master-keys-that-must-not-leak",
}
FD_PROBE = """
import os, sys
def is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
found = " ".join(str(fd) for fd in range(1024) if is_open(fd))
open(sys.argv[1], "w").write(found)
"""


def catalog(**hooks: dict[str, Any]) -> HookCatalog:
    return HookCatalog({n: HookDefinition.model_validate(h) for n, h in hooks.items()}, 30)


def not_running(stat: Path) -> bool:
    """Whether the process of this /proc/<pid>/stat is gone or a zombie."""
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


class Warnings(list[SnapshotWarned]):
    async def __call__(self, warning: SnapshotWarned) -> None:
        self.append(warning)


async def run_hook(hooks: HookCatalog, name: str, facts: dict[str, Any] | None = None) -> Warnings:
    warnings = Warnings()
    await HookRunner(warnings, hooks).run(name, facts or {}, "post_backup_hook", uuid4(), None)
    return warnings


def settings_body(**changes: Any) -> dict[str, Any]:
    return {"name": "n", "server_id": str(uuid4()), "volume_ids": [str(uuid4())], **changes}


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can write to (pytest's own are the test user's only)."""
    with tempfile.TemporaryDirectory(prefix="dbm-hooks-") as name:
        Path(name).chmod(0o777)
        yield Path(name)


class TestHookFile:
    def test_toml_hooks_by_name_with_their_timeouts(self, tmp_path: Path) -> None:
        path = tmp_path / "hooks.toml"
        path.write_text(
            '[notify-ops]\nargv = ["/bin/echo", "hi"]\ntimeout = 60\ndescription = "Tell ops"\n'
            'events = ["post_backup"]\n\n[audit]\nargv = ["/bin/true"]\n'
        )
        hooks = load_hooks(path, default_timeout=300)
        assert [(h.name, h.timeout, h.events) for h in hooks.public()] == [
            ("audit", 300, ["post_backup", "post_restore"]),
            ("notify-ops", 60, ["post_backup"]),
        ]
        assert "argv" not in hooks.public()[0].model_dump()

    def test_json_by_its_suffix(self, tmp_path: Path) -> None:
        path = tmp_path / "hooks.json"
        path.write_text(json.dumps({"a": {"argv": ["/bin/true"], "environment": {"X": "1"}}}))
        assert load_hooks(path, default_timeout=5).get("a") is not None

    def test_no_file_no_hooks(self) -> None:
        assert load_hooks(None, default_timeout=5).public() == []

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("[a]\nargv = []\n", "hook 'a': argv"),
            ('[a]\nargv = ["/bin/true"]\nshell = true\n', "hook 'a': shell"),
            ('["bad name"]\nargv = ["/bin/true"]\n', "is not a hook name"),
            ('[a]\nargv = ["/bin/true"]\nuser = "no-such-user-here"\n', "does not exist"),
            ('[a]\nargv = ["/bin/true"]\nenvironment = {PATH = "/tmp"}\n', "set by the api"),
            ("[a\n", "is not valid"),
        ],
    )
    def test_a_bad_file_stops_the_api_with_a_sentence(
        self, tmp_path: Path, text: str, words: str
    ) -> None:
        path = tmp_path / "hooks.toml"
        path.write_text(text)
        with pytest.raises(HookFileError, match=words):
            load_hooks(path, default_timeout=5)

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(HookFileError, match="cannot be read"):
            load_hooks(tmp_path / "nowhere.toml", default_timeout=5)

    def test_an_unknown_name_lists_the_known_ones(self) -> None:
        hooks = catalog(audit={"argv": ["/bin/true"]}, page={"argv": ["/bin/true"]})
        with pytest.raises(InvalidRequestError, match=r"no hook is named 'x'.*: audit, page"):
            hooks.check("x", "post_backup")
        with pytest.raises(InvalidRequestError, match="defines no hook"):
            catalog().check("x", "post_restore")

    def test_a_hook_is_only_for_its_events(self) -> None:
        hooks = catalog(audit={"argv": ["/bin/true"], "events": ["post_backup"]})
        hooks.check("audit", "post_backup")
        with pytest.raises(InvalidRequestError, match="only for post_backup"):
            hooks.check("audit", "post_restore")


class TestCommandsAreRefused:
    @pytest.mark.parametrize(
        "changes",
        [
            {"post_backup_command": ["/bin/sh", "-c", "id"]},
            {"post_restore_command": ["/bin/true"]},
            {"post_backup_hook": ["/bin/sh", "-c", "id"]},
            {"hook_argv": ["/bin/true"]},
        ],
    )
    def test_a_body_with_a_command_is_refused_with_the_sentence(
        self, changes: dict[str, Any]
    ) -> None:
        with pytest.raises(ValidationError, match=REFUSED_COMMAND):
            BackupSettings.model_validate(settings_body(**changes))
        with pytest.raises(ValidationError, match=REFUSED_COMMAND):
            BackupConfigUpdate.model_validate(changes)

    def test_a_hook_is_named(self) -> None:
        chosen = BackupSettings.model_validate(settings_body(post_backup_hook="notify-ops"))
        assert chosen.post_backup_hook == "notify-ops"
        with pytest.raises(ValidationError, match="post_restore_hook"):
            BackupSettings.model_validate(settings_body(post_restore_hook="a b"))


class TestWhatAHookSees:
    def test_environment_has_path_its_own_variables_and_facts_only(self) -> None:
        env = hook_environment({"snapshot_id": "abc", "size": 12, "path": None}, {"TEAM": "ops"})
        assert env == {
            "PATH": env["PATH"],
            "TEAM": "ops",
            "DATABASEMENT_SNAPSHOT_ID": "abc",
            "DATABASEMENT_SIZE": "12",
        }

    async def test_a_hook_finds_none_of_the_api_secrets_in_its_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        seen = tmp_path / "env"
        hooks = catalog(dump={"argv": ["/bin/sh", "-c", f"env > {seen}"]})
        assert await run_hook(hooks, "dump", {"snapshot_id": "s1"}) == []
        text = seen.read_text()
        assert "DATABASEMENT_SNAPSHOT_ID=s1" in text
        assert "DATABASEMENT_HOOK_NAME=dump" in text
        for name, value in SECRETS.items():
            assert name not in text
            assert value not in text

    async def test_a_hook_inherits_no_descriptor_beyond_0_to_2(self, tmp_path: Path) -> None:
        seen = tmp_path / "fds"
        read_end, write_end = os.pipe()
        os.set_inheritable(write_end, True)  # one the api might hold open
        try:
            hooks = catalog(fds={"argv": [sys.executable, "-c", FD_PROBE, str(seen)]})
            assert await run_hook(hooks, "fds") == []
        finally:
            os.close(read_end)
            os.close(write_end)
        # The probe opens its output after counting; 0-2 are /dev/null.
        assert seen.read_text() == "0 1 2"

    @pytest.mark.skipif(os.geteuid() != 0, reason="running as another user needs root")
    async def test_a_hook_run_as_another_user_cannot_read_the_api_environment(
        self, shared_dir: Path
    ) -> None:
        seen = shared_dir / "seen"
        script = f"id -u > {seen}; cat /proc/{os.getpid()}/environ >> {seen} 2>&1; exit 0"
        hooks = catalog(other={"argv": ["/bin/sh", "-c", script], "user": "nobody"})
        assert await run_hook(hooks, "other") == []
        uid, *rest = seen.read_text().splitlines()
        assert uid == "65534"
        assert "Permission denied" in " ".join(rest)
        assert not any(value in seen.read_text() for value in os.environ.values() if len(value) > 8)

    @pytest.mark.skipif(os.geteuid() != 0, reason="switching to a plain user needs root")
    def test_an_undumpable_api_hides_its_environment_from_hooks_of_its_own_user(self) -> None:
        """A plain user reads its own processes' /proc/<pid>/environ, unless undumpable."""
        probe = "cat /proc/{pid}/environ > /dev/null 2>&1"
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit code
            code = 9
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                _libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # setuid cleared it; as a plain start
                command = ["/bin/sh", "-c", probe.format(pid=os.getpid())]
                before = subprocess.run(command, check=False, cwd="/").returncode
                marked = make_undumpable()
                after = subprocess.run(command, check=False, cwd="/").returncode
                code = 0 if (before, marked, after != 0) == (0, True, True) else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0


class TestRunning:
    def test_outcome_sentences(self) -> None:
        assert outcome("x", 0, timed_out=False, timeout=5) is None
        assert outcome("x", 3, timed_out=False, timeout=5) == "hook x exited with code 3"
        assert "did not finish within 5 s" in (outcome("x", None, timed_out=True, timeout=5) or "")

    async def test_a_failing_hook_warns_with_its_exit_code(self) -> None:
        script = 'test "$DATABASEMENT_STATUS" = completed && exit 4'
        warnings = await run_hook(
            catalog(fail={"argv": ["/bin/sh", "-c", script]}), "fail", {"status": "completed"}
        )
        assert [(w.exit_code, w.source, w.message) for w in warnings] == [
            (4, "post_backup_hook", "hook fail exited with code 4")
        ]

    async def test_a_succeeding_hook_does_not_warn(self) -> None:
        assert await run_hook(catalog(ok={"argv": ["/bin/true"]}), "ok") == []

    async def test_a_hook_past_its_timeout_is_killed_with_what_it_started(
        self, tmp_path: Path
    ) -> None:
        started = tmp_path / "pid"
        script = f"sleep 30 & echo $! > {started}; wait"
        # Long enough for the shell to start its child and write the pid on a loaded machine.
        hooks = catalog(slow={"argv": ["/bin/sh", "-c", script], "timeout": 2})
        [warning] = await run_hook(hooks, "slow")
        assert warning.exit_code is None
        assert "did not finish within 2 s" in warning.message
        stat = Path(f"/proc/{int(started.read_text())}/stat")
        # SIGKILL is sent, but the child dies when it next runs: wait for it (a `sleep 30`
        # that was never signalled stays running past the deadline). Gone, or a zombie until
        # whoever adopted it reaps it: either way not running.
        deadline = time.monotonic() + 10
        while not not_running(stat) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert not_running(stat)

    async def test_a_missing_program_warns(self) -> None:
        [warning] = await run_hook(catalog(gone={"argv": ["/nonexistent/hook"]}), "gone")
        assert "could not start" in warning.message

    async def test_a_name_the_operator_removed_warns_and_runs_nothing(self) -> None:
        [warning] = await run_hook(catalog(), "removed")
        assert "no longer defined for post_backup" in warning.message

    async def test_at_most_concurrency_hooks_run_at_once(self, tmp_path: Path) -> None:
        log = tmp_path / "log"
        script = f"echo start >> {log}; sleep 0.3; echo end >> {log}"
        hooks = catalog(busy={"argv": ["/bin/sh", "-c", script]})
        runner = HookRunner(Warnings(), hooks, concurrency=2)
        snapshot: UUID = uuid4()
        for _ in range(5):
            runner.start("busy", {}, source="post_backup_hook", snapshot_id=snapshot)
        await asyncio.gather(*runner.running)
        running = peak = 0
        for line in log.read_text().split():
            running += 1 if line == "start" else -1
            peak = max(peak, running)
        assert peak == 2
