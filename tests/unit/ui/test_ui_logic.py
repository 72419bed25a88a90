"""The web UI's pure parts: password hashes, redirects, filters and pages, numbers in words,
form errors next to their fields."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import TypeAdapter, ValidationError

from services.api.schemas import ServerCreate, VolumeCreate
from services.api.ui.auth import safe_next, session_hash, tokens_match
from services.api.ui.forms import field_errors, tags_of
from services.api.ui.listing import Estimate, SnapshotFilters, estimate, poll_every, share
from services.api.ui.passwords import hash_password, verify_password
from services.api.ui.rendering import duration, rate, size, templates, time_left


class TestPasswords:
    def test_hash_verifies_only_its_password(self):
        stored = hash_password("correct horse")
        assert verify_password("correct horse", stored)
        assert not verify_password("correct hors", stored)

    def test_hash_is_salted_and_holds_no_password(self):
        first, second = hash_password("same"), hash_password("same")
        assert first != second
        assert "same" not in first
        assert first.startswith("scrypt$32768$8$1$")

    @pytest.mark.parametrize("stored", ["", "bcrypt$x", "scrypt$1$2$3$!!$!!", "scrypt$a$b$c$d$e"])
    def test_malformed_hash_never_verifies(self, stored):
        assert not verify_password("anything", stored)


class TestSessions:
    def test_session_is_kept_by_hash_only(self):
        assert session_hash("abc") != "abc"
        assert len(session_hash("abc")) == 64

    @pytest.mark.parametrize(
        ("sent", "ok"), [("t0k", True), ("t0x", False), ("", False), (None, False)]
    )
    def test_csrf_tokens_must_match_exactly(self, sent, ok):
        assert tokens_match(sent, "t0k") is ok

    @pytest.mark.parametrize(
        ("asked", "goes_to"),
        [
            ("/ui/snapshots?status=failed", "/ui/snapshots?status=failed"),
            ("https://evil.example/", "/ui/"),
            ("//evil.example/ui/", "/ui/"),
            ("/ui/\\evil", "/ui/"),
            ("/api/v1/servers", "/ui/"),
            (None, "/ui/"),
        ],
    )
    def test_after_sign_in_only_ui_paths_are_followed(self, asked, goes_to):
        assert safe_next(asked) == goes_to


class TestSnapshotFilters:
    def test_filters_a_browser_sent_are_read_and_bad_ones_dropped(self):
        server = uuid4()
        filters = SnapshotFilters.of(
            {
                "server_id": str(server),
                "volume_id": "not-a-uuid",
                "status": "exploded",
                "database": " shop ",
                "from": "2026-01-02",
                "to": "nope",
            }
        )
        assert filters.server_id == server
        assert filters.volume_id is None
        assert filters.status is None
        assert filters.database == "shop"
        assert filters.day_from == date(2026, 1, 2)
        assert filters.day_to is None

    def test_days_become_utc_bounds_including_the_last_day(self):
        api = SnapshotFilters(day_from=date(2026, 1, 2), day_to=date(2026, 1, 3)).api_filters()
        assert api["created_from"] == datetime(2026, 1, 2, tzinfo=UTC)
        assert api["created_to"] == datetime(2026, 1, 4, tzinfo=UTC)

    def test_next_page_keeps_the_filters(self):
        filters = SnapshotFilters(status="failed", cursor="c1")
        assert filters.query(cursor="c2") == "status=failed&cursor=c2"
        assert filters.query(keep_cursor=False) == "status=failed"
        assert filters.active
        assert not SnapshotFilters(cursor="c1").active

    def test_polls_faster_while_something_runs(self):
        assert poll_every(["completed", "in_progress"]) == "every 1s"
        assert poll_every(["completed", "failed"]) == "every 3s"

    def test_progress_against_the_last_backup_stays_below_100(self):
        assert share(50, 200) == 25.0
        assert share(500, 200) == 99.0
        assert share(50, None) is None

    def test_time_left_is_the_rest_of_the_last_size_at_the_average_rate(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        started = now - timedelta(seconds=10)
        assert estimate(50, 200, started, now=now) == Estimate(25.0, seconds_left=30.0)

    def test_no_time_left_past_the_last_size_or_before_bytes_move(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        started = now - timedelta(seconds=10)
        assert estimate(500, 200, started, now=now) == Estimate(99.0, seconds_left=None)
        assert estimate(0, 200, started, now=now) == Estimate(0.0, seconds_left=None)
        assert estimate(50, None, started, now=now) is None


class TestNumbersInWords:
    @pytest.mark.parametrize(
        ("value", "text"),
        [(None, "—"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 2**30, "5.0 GiB")],
    )
    def test_sizes(self, value, text):
        assert size(value) == text

    @pytest.mark.parametrize(
        ("seconds", "text"), [(None, "—"), (1.25, "1.2 s"), (75, "1 min 15 s"), (7260, "2 h 1 min")]
    )
    def test_durations(self, seconds, text):
        assert duration(seconds) == text

    @pytest.mark.parametrize(
        ("seconds", "text"), [(None, ""), (12.4, "about 12 s left"), (75, "about 1 min 15 s left")]
    )
    def test_time_left_says_about(self, seconds, text):
        assert time_left(seconds) == text

    def test_rate_is_the_average_since_start(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        assert rate(10 * 2**20, now - timedelta(seconds=4), now=now) == "2.5 MiB/s"
        assert rate(0, now, now=now) == "—"


class TestFormErrors:
    def test_each_error_lands_on_its_field(self):
        with pytest.raises(ValidationError) as caught:
            ServerCreate.model_validate(
                {
                    "name": "",
                    "type": "postgresql",
                    "host": "h",
                    "port": "x",
                    "username": "u",
                    "password": "p",
                }
            )
        errors = field_errors(caught.value)
        assert set(errors) == {"name", "port"}
        assert "integer" in errors["port"]

    def test_a_rule_on_a_whole_config_is_named_by_its_sentence(self):
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(VolumeCreate).validate_python(
                {"name": "v", "type": "local", "config": {"path": "relative"}}
            )
        assert field_errors(caught.value) == {"config": "path must be absolute"}

    def test_tags_are_split_on_commas(self):
        assert tags_of(" prod, eu ,,") == ["prod", "eu"]
        assert tags_of(None) == []


class TestDashboard:
    def test_last_24_hours_are_counted_per_hour_oldest_first(self):
        from services.api.schemas import SnapshotPublic
        from services.api.ui.pages.dashboard import hourly

        now = datetime(2026, 1, 2, 12, tzinfo=UTC)

        def snapshot(hours_ago: float, status: str) -> SnapshotPublic:
            return SnapshotPublic(
                id=uuid4(),
                status=status,
                server_id=None,
                server_name=None,
                database="d",
                volume_id=None,
                compression="gzip",
                created_at=now - timedelta(hours=hours_ago),
                started_at=None,
                finished_at=None,
                bytes_dumped=0,
                size=None,
                sha256=None,
                path=None,
                error=None,
            )

        buckets = hourly(
            [
                snapshot(0.5, "completed"),
                snapshot(0.2, "failed"),
                snapshot(23.5, "completed"),
                snapshot(30, "completed"),
            ],
            now=now,
        )
        assert len(buckets) == 24
        assert buckets[-1] == {"completed": 1, "failed": 1}
        assert buckets[0] == {"completed": 1}
        assert sum(sum(b.values()) for b in buckets) == 3


PASSED = [{"check": "reachable", "ok": True, "detail": "db:3306 accepts TCP connections"}]


class TestServerTestResult:
    """The connection test's page fragment shows the archiving verdict as advice."""

    def render(self, archiving):
        page = templates.env.get_template("_checks.html")
        return page.render(checks=PASSED, archiving=archiving, error=None)

    def test_a_server_not_ready_says_no_and_names_each_change(self):
        html = self.render({
            "ready": False,
            "summary": "ready for point-in-time recovery: no: log_bin is OFF",
            "checks": [{"check": "log_bin", "ok": False, "detail": "log_bin is OFF: set it"}],
        })  # fmt: skip
        assert "All checks passed." in html  # the verdict is advice, not a failed check
        assert 'data-archiving-ready="no"' in html
        assert "<strong>no</strong>" in html
        assert "Binary log</strong>:" in html
        assert "log_bin is OFF: set it" in html

    def test_a_verdict_not_checked_says_why(self):
        html = self.render({
            "ready": False,
            "summary": "ready for point-in-time recovery: not checked: authenticated failed",
            "checks": [],
        })  # fmt: skip
        assert "(not checked: authenticated failed)" in html

    def test_no_verdict_shows_no_section(self):
        assert "point-in-time" not in self.render(None).lower()
