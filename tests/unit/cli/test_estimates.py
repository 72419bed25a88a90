"""A waiting backup's percentage and time left, against its database's last completed dump."""

import json

import httpx
import pytest

from services.cli import waiting
from services.cli.estimates import RateMeter, about, estimate_of, last_dumped
from tests.unit.cli.test_client import client_answering

SERVER = "6f1c0a52-5d0e-4c1a-9d6b-2d7c1b1a0001"
SNAPSHOT = "6f1c0a52-5d0e-4c1a-9d6b-2d7c1b1a0002"


class TestEstimate:
    def test_a_running_dump_is_a_share_of_the_last_one_with_the_time_left(self):
        found = estimate_of(1_000, status="in_progress", expected=4_000, rate=100.0)
        assert (found.percent, found.eta_seconds, found.estimate) == (25.0, 30.0, True)

    def test_a_dump_past_the_last_size_stays_below_100_with_no_time_left(self):
        found = estimate_of(5_000, status="in_progress", expected=4_000, rate=100.0)
        assert (found.percent, found.eta_seconds, found.estimate) == (99.0, None, True)

    def test_no_rate_yet_gives_a_share_but_no_time_left(self):
        found = estimate_of(0, status="pending", expected=4_000, rate=None)
        assert (found.percent, found.eta_seconds) == (0.0, None)

    def test_only_completed_is_100_and_no_longer_an_estimate(self):
        found = estimate_of(4_200, status="completed", expected=4_000, rate=None)
        assert (found.percent, found.eta_seconds, found.estimate) == (100.0, 0.0, False)

    @pytest.mark.parametrize(("status", "expected"), [("in_progress", None), ("failed", 4_000)])
    def test_nothing_is_estimated_without_a_last_size_or_after_a_failure(self, status, expected):
        found = estimate_of(1_000, status=status, expected=expected, rate=100.0)
        assert (found.percent, found.eta_seconds, found.estimate) == (None, None, False)


class TestRateMeter:
    def test_the_rate_is_bytes_since_the_first_sample_over_its_time(self):
        now = iter([10.0, 12.0, 14.0])
        meter = RateMeter(clock=lambda: next(now))
        assert meter.rate(1_000) is None  # one sample says nothing of speed
        assert meter.rate(3_000) == 1_000.0
        assert meter.rate(9_000) == 2_000.0

    def test_no_bytes_moving_is_no_rate(self):
        now = iter([10.0, 12.0])
        meter = RateMeter(clock=lambda: next(now))
        meter.rate(1_000)
        assert meter.rate(1_000) is None


class TestLastDumped:
    def test_asks_for_the_newest_completed_snapshot_of_the_same_database(self):
        asked: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            asked.append(request)
            return httpx.Response(200, json={"items": [{"bytes_dumped": 4_000}]})

        snapshot = {"server_id": SERVER, "database": "shop"}
        assert last_dumped(client_answering(answer), snapshot) == 4_000
        assert dict(asked[0].url.params) == {
            "server_id": SERVER, "database": "shop", "status": "completed", "limit": "1"
        }  # fmt: skip

    def test_a_first_backup_or_a_refusal_has_no_estimate(self):
        empty = client_answering(lambda _: httpx.Response(200, json={"items": []}))
        refusing = client_answering(lambda _: httpx.Response(422, json={"detail": "no"}))
        snapshot = {"server_id": SERVER, "database": "shop"}
        assert last_dumped(empty, snapshot) is None
        assert last_dumped(refusing, snapshot) is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, ""),
        (12.4, "about 12 s left"),
        (190, "about 3 min left"),
        (3_900, "about 1 h 5 min left"),
    ],
)
def test_time_left_in_words(seconds, words):
    assert about(seconds) == words


class TestJsonProgress:
    def test_each_change_is_a_json_line_with_percent_and_eta_on_stderr(self, capsys, monkeypatch):
        """stdout stays free for the one final document; stderr carries the progress."""
        monkeypatch.setattr(waiting, "POLL_SECONDS", 0.2)  # an ETA of tenths of a second
        polled = [("pending", 0), *(("in_progress", n * 1_000_000) for n in (1, 2, 3))]
        details = iter([*polled, ("completed", 4_100_000)])

        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v1/snapshots":
                return httpx.Response(200, json={"items": [{"bytes_dumped": 4_000_000}]})
            status, done = next(details)
            body = {"id": SNAPSHOT, "server_id": SERVER, "database": "shop", "status": status}
            return httpx.Response(200, json=body | {"bytes_dumped": done})

        [final] = waiting.wait_for(client_answering(answer), [{"id": SNAPSHOT}], as_json=True)

        assert final["status"] == "completed"
        out, err = capsys.readouterr()
        assert out == ""
        lines = [json.loads(line) for line in err.splitlines()]
        assert [line["status"] for line in lines] == ["pending"] + ["in_progress"] * 3 + [
            "completed"
        ]
        assert {line["event"] for line in lines} == {"backup_progress"}
        assert {line["expected_bytes"] for line in lines} == {4_000_000}
        running = lines[1:4]
        assert [line["percent"] for line in running] == [25.0, 50.0, 75.0]
        assert running[0]["eta_seconds"] is None  # one sample: no rate yet
        assert all(line["eta_seconds"] > 0 and line["estimate"] for line in running[1:])
        assert (lines[-1]["percent"], lines[-1]["estimate"]) == (100.0, False)
