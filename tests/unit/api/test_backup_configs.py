"""Backup configurations, pure: which databases, valid settings, and which slot is due."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.api.configs import BackupSettings, DatabaseSelection, due_slot, latest_slot
from services.api.configs.selection import needs_list, select_databases
from services.api.configs.timing import check_schedule, check_timezone, next_slot

AVAILABLE = ["shop", "shop_eu", "shop_old", "crm", "postgres", "template1", "mysql", "sys"]


def at(hour: int, minute: int = 0, second: int = 0, day: int = 1) -> datetime:
    return datetime(2030, 1, day, hour, minute, second, tzinfo=UTC)


class TestDatabaseSelection:
    def test_all_is_every_user_database_sorted(self):
        assert select_databases(DatabaseSelection(), AVAILABLE) == [
            "crm",
            "shop",
            "shop_eu",
            "shop_old",
        ]

    def test_exclude_removes_names(self):
        selection = DatabaseSelection(exclude=["shop_old", "crm", "absent"])
        assert select_databases(selection, AVAILABLE) == ["shop", "shop_eu"]

    def test_pattern_must_match_the_whole_name(self):
        selection = DatabaseSelection(mode="pattern", pattern="shop_.*", exclude=["shop_old"])
        assert select_databases(selection, AVAILABLE) == ["shop_eu"]

    def test_a_pattern_never_selects_a_system_database(self):
        selection = DatabaseSelection(mode="pattern", pattern=".*")
        assert "postgres" not in select_databases(selection, AVAILABLE)
        assert "mysql" not in select_databases(selection, AVAILABLE)

    def test_a_list_needs_no_server_list_and_is_deduplicated(self):
        selection = DatabaseSelection(mode="list", names=["b", "a", "b"], exclude=["c"])
        assert not needs_list(selection)
        assert select_databases(selection, None) == ["a", "b"]

    def test_all_and_pattern_need_the_server_list(self):
        assert needs_list(DatabaseSelection())
        with pytest.raises(ValueError, match="needs the server's database list"):
            select_databases(DatabaseSelection(), None)

    @pytest.mark.parametrize(
        ("body", "words"),
        [
            ({"mode": "list"}, "needs at least one name"),
            ({"mode": "all", "names": ["a"]}, "only for mode 'list'"),
            ({"mode": "pattern"}, "needs a `pattern`"),
            ({"mode": "pattern", "pattern": "(unclosed"}, "not a valid regular expression"),
            ({"mode": "all", "pattern": "x"}, "only for mode 'pattern'"),
            ({"mode": "list", "names": ["shop", "template1"]}, "'template1' is a system database"),
        ],
    )
    def test_invalid_selections_say_why(self, body, words):
        with pytest.raises(ValidationError, match=words):
            DatabaseSelection.model_validate(body)


def settings(**extra):
    return {"name": "n", "server_id": uuid4(), "volume_ids": [uuid4()]} | extra


class TestSettingsValidation:
    @pytest.mark.parametrize(
        ("compression", "level", "ok"),
        [
            ("gzip", 0, True),
            ("gzip", 3, True),
            ("gzip", 4, False),
            ("gzip", -1, False),
            ("zstd", 1, True),
            ("zstd", 19, True),
            ("zstd", 0, False),
            ("zstd", 20, False),
        ],
    )
    def test_levels_per_compressor(self, compression, level, ok):
        body = settings(compression=compression, compression_level=level)
        if ok:
            assert BackupSettings.model_validate(body).compression_level == level
        else:
            with pytest.raises(ValidationError, match=f"out of range for {compression}"):
                BackupSettings.model_validate(body)

    def test_schedule_is_normalised_and_zone_kept(self):
        parsed = BackupSettings.model_validate(
            settings(schedule="  0  2 * * 1-5 ", timezone="America/New_York")
        )
        assert parsed.schedule == "0 2 * * 1-5"
        assert parsed.timezone == "America/New_York"

    @pytest.mark.parametrize(
        "schedule", ["61 * * * *", "* * * *", "", "0 2 * * * * *", "a b c d e"]
    )
    def test_bad_cron_is_refused(self, schedule):
        with pytest.raises(ValueError, match="schedule"):
            check_schedule(schedule)

    def test_a_schedule_no_date_matches_is_refused(self):
        with pytest.raises(ValueError, match="never fires: no date matches it"):
            check_schedule("0 0 31 2 *")

    def test_a_nul_in_a_pattern_is_refused(self):
        """PostgreSQL's jsonb cannot hold one: it would be a 500, not a 422."""
        with pytest.raises(ValidationError, match="pattern"):
            DatabaseSelection(mode="pattern", pattern="a\x00")

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "utc+1"])
    def test_bad_time_zone_is_refused(self, zone):
        with pytest.raises(ValueError, match="is not an IANA time zone"):
            check_timezone(zone)

    def test_a_volume_twice_is_refused(self):
        volume = uuid4()
        with pytest.raises(ValidationError, match="each volume at most once"):
            BackupSettings.model_validate(settings(volume_ids=[volume, volume]))

    def test_no_schedule_means_manual_only(self):
        assert BackupSettings.model_validate(settings()).schedule is None


class TestSlots:
    def test_latest_slot_includes_now_itself(self):
        assert latest_slot("0 * * * *", "UTC", at(10)) == at(10)
        assert latest_slot("0 * * * *", "UTC", at(10, 59, 59)) == at(10)

    def test_five_fields_ignore_seconds(self):
        assert latest_slot("* * * * *", "UTC", at(10, 7, 30)) == at(10, 7)

    def test_six_fields_put_seconds_first(self):
        assert latest_slot("*/5 * * * * *", "UTC", at(10, 0, 7)) == at(10, 0, 5)
        assert next_slot("*/5 * * * * *", "UTC", at(10, 0, 5)) == at(10, 0, 10)

    def test_slots_are_in_the_configured_zone(self):
        # 02:00 in Berlin is 01:00 UTC in winter.
        assert next_slot("0 2 * * *", "Europe/Berlin", at(0)) == at(1)
        assert latest_slot("0 2 * * *", "Europe/Berlin", at(3)) == at(1)

    def test_due_once_per_slot(self):
        fired = at(10)
        assert due_slot("*/15 * * * *", "UTC", now=at(10, 14, 59), since=fired) is None
        assert due_slot("*/15 * * * *", "UTC", now=at(10, 15), since=fired) == at(10, 15)
        assert due_slot("*/15 * * * *", "UTC", now=at(10, 16), since=at(10, 15)) is None

    def test_missed_slots_collapse_into_the_latest(self):
        """Down from 10:00 to 13:07: one firing for 13:00, not twelve."""
        now = at(13, 7)
        assert due_slot("*/15 * * * *", "UTC", now=now, since=at(10)) == at(13)
        assert due_slot("*/15 * * * *", "UTC", now=now, since=at(13)) is None

    def test_a_slot_before_arming_never_fires(self):
        armed = at(10, 0, 30)
        assert due_slot("0 10 * * *", "UTC", now=at(10, 1), since=armed) is None
        assert due_slot("0 10 * * *", "UTC", now=at(10, 1, day=2), since=armed) == at(10, day=2)

    def test_a_fake_clock_walks_one_firing_per_slot(self):
        fired_through = at(0)
        firings = []
        now = at(0)
        while now < at(1, 0, 30):
            now += timedelta(seconds=7)
            slot = due_slot("* * * * *", "UTC", now=now, since=fired_through)
            if slot is not None:
                firings.append(slot)
                fired_through = slot
        assert firings == [at(0) + timedelta(minutes=m) for m in range(1, 61)]

    @pytest.mark.parametrize(
        ("day", "fired"),
        [
            # Clocks go back at 03:00 CEST: 02:30 comes twice; it fires once.
            (datetime(2026, 10, 24, 12, tzinfo=UTC), ["2026-10-25T02:30:00+02:00"]),
            # Clocks go forward at 02:00 CET: 02:30 does not exist; it fires at 03:00.
            (datetime(2026, 3, 28, 12, tzinfo=UTC), ["2026-03-29T03:00:00+02:00"]),
        ],
    )
    def test_daylight_saving_days_fire_once(self, day, fired):
        since, now, firings = day, day, []
        while now < day + timedelta(days=1):
            now += timedelta(minutes=5)
            slot = due_slot("30 2 * * *", "Europe/Berlin", now=now, since=since)
            if slot is not None:
                firings.append(slot.isoformat())
                since = slot
        assert firings == fired
