"""`databasement restore` and `verify` against a fake API: the request, the wait, exit codes."""

import json

import httpx
import pytest

from services.cli import main as cli_main
from services.cli import session, waiting
from services.cli.commands.restores import default_database, failure_of
from services.cli.errors import EXIT_ERROR, EXIT_FAILED
from tests.unit.cli.test_client import client_answering

SNAPSHOT = "11111111-1111-4111-8111-111111111111"
SOURCE_SERVER = "22222222-2222-4222-8222-222222222222"
OTHER_SERVER = "33333333-3333-4333-8333-333333333333"
RESTORE = "44444444-4444-4444-8444-444444444444"


class FakeApi:
    """Answers the snapshot, the servers, the POST, then the restore's records in turn."""

    def __init__(self, *records: dict, refuse: tuple[int, str] | None = None) -> None:
        self.records = list(records)
        self.refuse = refuse
        self.posted: list[tuple[str, dict]] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            self.posted.append((path, json.loads(request.content)))
            if self.refuse:
                return httpx.Response(self.refuse[0], json={"detail": self.refuse[1]})
            return httpx.Response(202, json={"id": RESTORE, "status": "pending"})
        if path == f"/api/v1/restores/{RESTORE}":
            self.polls += 1
            record = self.records.pop(0) if len(self.records) > 1 else self.records[0]
            return httpx.Response(200, json=record)
        servers = [{"id": SOURCE_SERVER, "name": "prod"}, {"id": OTHER_SERVER, "name": "dev"}]
        routes = {
            f"/api/v1/snapshots/{SNAPSHOT}": snapshot(),
            "/api/v1/servers": servers,
        } | {f"/api/v1/servers/{s['id']}": s for s in servers}
        if path in routes:
            return httpx.Response(200, json=routes[path])
        return httpx.Response(404, json={"detail": f"no route {path}"})


def snapshot() -> dict:
    return {
        "id": SNAPSHOT,
        "server_id": SOURCE_SERVER,
        "database": "shop",
        "status": "completed",
        "bytes_dumped": 4000,
    }


def record(status: str, *, mode: str = "restore", **extra) -> dict:
    return {"id": RESTORE, "mode": mode, "status": status, "bytes_restored": 0} | extra


def run(monkeypatch, api: FakeApi, *args: str) -> int:
    monkeypatch.setattr(waiting, "POLL_SECONDS", 0)
    monkeypatch.setattr(session, "Client", lambda *_: client_answering(api))
    with pytest.raises(SystemExit) as exited:
        cli_main.app([*args])
    code = exited.value.code
    return 0 if code is None else int(code)


class TestRestoreCommand:
    def test_completed_restore_exits_0_after_waiting(self, monkeypatch, capsys):
        api = FakeApi(
            record("pending"),
            record("in_progress", bytes_restored=1000),
            record("completed", bytes_restored=4000, database="shop_copy"),
        )
        code = run(monkeypatch, api, "restore", SNAPSHOT, "--to", "dev", "--database", "shop_copy")
        assert code == 0, capsys.readouterr().err
        assert api.posted == [
            (
                "/api/v1/restores",
                {
                    "snapshot_id": SNAPSHOT,
                    "server_id": OTHER_SERVER,
                    "database": "shop_copy",
                    "overwrite": False,
                },
            )
        ]
        assert api.polls == 3
        assert "completed" in capsys.readouterr().out

    def test_failed_restore_exits_3_with_the_reason_on_stderr(self, monkeypatch, capsys):
        api = FakeApi(record("failed", error="artifact corrupt at chunk 2"))
        code = run(monkeypatch, api, "restore", SNAPSHOT, "--to", "dev", "--json")
        assert code == EXIT_FAILED
        captured = capsys.readouterr()
        assert "databasement: restore failed: artifact corrupt at chunk 2\n" in captured.err
        assert json.loads(captured.out)["status"] == "failed"

    def test_refused_request_exits_1_with_the_apis_sentence(self, monkeypatch, capsys):
        detail = "database 'shop' exists on server 'dev'; pass overwrite to replace it"
        api = FakeApi(refuse=(409, detail))
        code = run(monkeypatch, api, "restore", SNAPSHOT, "--to", "dev")
        assert code == EXIT_ERROR
        assert capsys.readouterr().err == f"databasement: {detail}\n"
        assert api.polls == 0

    def test_overwrite_and_no_wait_send_the_flag_and_do_not_poll(self, monkeypatch, capsys):
        api = FakeApi(record("pending"))
        code = run(
            monkeypatch, api, "restore", SNAPSHOT, "--to", SOURCE_SERVER, "--overwrite",
            "--no-wait", "--json",
        )  # fmt: skip
        assert code == 0
        [(_, body)] = api.posted
        assert body["overwrite"] is True
        assert body["database"] == "shop_restored"
        assert api.polls == 0
        assert json.loads(capsys.readouterr().out) == {"id": RESTORE, "status": "pending"}


class TestDefaultDatabase:
    def test_another_server_gets_the_snapshots_own_name(self):
        assert default_database(snapshot(), OTHER_SERVER) == "shop"

    def test_the_source_server_gets_a_restored_suffix_never_the_source(self):
        assert default_database(snapshot(), SOURCE_SERVER) == "shop_restored"


class TestVerifyCommand:
    def test_verify_ok_exits_0(self, monkeypatch, capsys):
        api = FakeApi(
            record("in_progress", mode="verify"), record("completed", mode="verify", verify_ok=True)
        )
        code = run(monkeypatch, api, "verify", SNAPSHOT, "--on", "dev")
        assert code == 0, capsys.readouterr().err
        assert api.posted == [(f"/api/v1/snapshots/{SNAPSHOT}/verify", {"server_id": OTHER_SERVER})]

    def test_differing_tables_exit_3_and_are_named_on_stderr(self, monkeypatch, capsys):
        differences = [
            {"table": "public.orders", "expected": 100, "actual": 99},
            {"table": "public.gone", "expected": 5, "actual": None},
        ]
        api = FakeApi(
            record("completed", mode="verify", verify_ok=False, table_differences=differences)
        )
        code = run(monkeypatch, api, "verify", SNAPSHOT, "--on", "dev")
        assert code == EXIT_FAILED
        captured = capsys.readouterr()
        assert "public.orders (manifest 100, restored 99)" in captured.out
        [line] = [x for x in captured.err.splitlines() if x.startswith("databasement:")]
        assert "public.orders (manifest 100, restored 99)" in line
        assert "public.gone (manifest 5, missing from the restore)" in line

    def test_failed_verify_exits_3_with_the_reason(self, monkeypatch, capsys):
        api = FakeApi(record("failed", mode="verify", error="manifest missing: a/b.manifest.json"))
        code = run(monkeypatch, api, "verify", SNAPSHOT, "--on", "dev")
        assert code == EXIT_FAILED
        assert "verify failed: manifest missing: a/b.manifest.json" in capsys.readouterr().err


class TestFailureOf:
    def test_a_completed_restore_is_no_failure(self):
        assert failure_of(record("completed")) is None

    def test_a_verify_still_running_is_no_failure(self):
        assert failure_of(record("in_progress", mode="verify", verify_ok=None)) is None
