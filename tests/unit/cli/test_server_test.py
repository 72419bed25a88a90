"""`servers test`: the checks decide the exit code; the archiving verdict is shown as advice."""

import json

import pytest

from services.cli.checks import run_checks
from services.cli.errors import CliError

SERVER = {"id": "0b7f5a52-8c1e-4b9e-9d7e-5f3c2a1b0c9d", "name": "prod"}
PASSED = [{"check": "reachable", "ok": True, "detail": "db:5432 accepts TCP connections"}]
NOT_READY = {
    "ready": False,
    "summary": "ready for point-in-time recovery: no: log_bin is OFF: set `log_bin = "
    "mariadb-bin` under [mysqld] in its configuration and restart it",
    "checks": [
        {
            "check": "log_bin",
            "ok": False,
            "detail": "log_bin is OFF: set `log_bin = mariadb-bin` under [mysqld] in its "
            "configuration and restart it",
        }
    ],
}


class FakeClient:
    def __init__(self, answer: dict) -> None:
        self.answer = answer

    def get(self, path: str) -> list[dict]:
        assert path == "/api/v1/servers"
        return [SERVER]

    def post(self, path: str) -> dict:
        assert path == f"/api/v1/servers/{SERVER['id']}/test"
        return self.answer


class TestServerTest:
    def test_a_server_not_ready_for_archiving_still_passes(self, capsys):
        run_checks(FakeClient({"checks": PASSED, "archiving": NOT_READY}), "servers", "prod",
                   as_json=False)  # fmt: skip
        out = capsys.readouterr().out
        assert "point-in-time recovery (advice)" in out
        assert "ready for point-in-time recovery: no: log_bin is OFF" in out
        assert "under [mysqld] in" in out  # brackets are text, not markup

    def test_json_is_the_apis_whole_answer(self, capsys):
        answer = {"checks": PASSED, "archiving": NOT_READY}
        run_checks(FakeClient(answer), "servers", "prod", as_json=True)
        assert json.loads(capsys.readouterr().out) == answer

    def test_an_answer_without_a_verdict_shows_the_checks_alone(self, capsys):
        run_checks(FakeClient({"checks": PASSED, "archiving": None}), "servers", "prod",
                   as_json=False)  # fmt: skip
        assert "point-in-time" not in capsys.readouterr().out

    def test_a_failed_check_still_exits_3(self):
        failed = [{"check": "reachable", "ok": False, "detail": "refused"}]
        with pytest.raises(CliError, match="failed: reachable"):
            run_checks(FakeClient({"checks": failed, "archiving": None}), "servers", "prod",
                       as_json=False)  # fmt: skip
