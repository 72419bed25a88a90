"""Retention decisions: keep_last, keep_days, GFS buckets, their union, locks and the newest."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.api.retention import (
    GfsCounts,
    RetentionPolicy,
    SnapshotFacts,
    decide_retention,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, ISO week 48
SERVER = uuid4()


def snap(
    created_at: datetime,
    *,
    locked: bool = False,
    status: str = "completed",
    database: str = "shop",
    server: UUID = SERVER,
) -> SnapshotFacts:
    return SnapshotFacts(
        id=uuid4(),
        server_id=server,
        database=database,
        created_at=created_at,
        locked=locked,
        status=status,
    )


def daily(days: int, *, hour: int = 3) -> list[SnapshotFacts]:
    """One snapshot per day at `hour` UTC, today first, going back `days` days."""
    today = NOW.replace(hour=hour)
    return [snap(today - timedelta(days=n)) for n in range(days)]


def ids(items: list[SnapshotFacts]) -> set[UUID]:
    return {s.id for s in items}


def policy(**rules: object) -> RetentionPolicy:
    return RetentionPolicy.model_validate(rules)


class TestKeepLast:
    def test_keeps_exactly_the_n_newest(self):
        snaps = daily(10)
        decision = decide_retention(snaps, policy(keep_last=3), now=NOW)
        assert ids(decision.keep) == ids(snaps[:3])
        assert ids(decision.delete) == ids(snaps[3:])

    def test_more_than_there_are_keeps_all(self):
        snaps = daily(2)
        decision = decide_retention(snaps, policy(keep_last=5), now=NOW)
        assert ids(decision.keep) == ids(snaps)
        assert decision.delete == []

    def test_order_of_input_does_not_matter(self):
        snaps = daily(6)
        decision = decide_retention(list(reversed(snaps)), policy(keep_last=2), now=NOW)
        assert ids(decision.keep) == ids(snaps[:2])

    def test_results_are_newest_first(self):
        snaps = daily(6)
        decision = decide_retention(snaps, policy(keep_last=2), now=NOW)
        assert [s.id for s in decision.keep] == [s.id for s in snaps[:2]]
        assert [s.id for s in decision.delete] == [s.id for s in snaps[2:]]

    def test_zero_with_no_other_rule_prunes_nothing(self):
        """keep_last 0 is no rule at all, and a policy without rules keeps everything."""
        snaps = daily(4)
        decision = decide_retention(snaps, policy(keep_last=0), now=NOW)
        assert decision.delete == []


class TestKeepDays:
    def test_keeps_those_within_d_times_24_hours(self):
        snaps = daily(10)  # 03:00 each day; now is 12:00
        decision = decide_retention(snaps, policy(keep_days=3), now=NOW)
        # now - 3 days = 22 Nov 12:00: 25, 24, 23 Nov at 03:00 are inside, 22 Nov 03:00 not.
        assert ids(decision.keep) == ids(snaps[:3])
        assert ids(decision.delete) == ids(snaps[3:])

    def test_the_boundary_instant_is_kept(self):
        edge = snap(NOW - timedelta(days=2))
        older = snap(NOW - timedelta(days=2, seconds=1))
        newest = snap(NOW)
        decision = decide_retention([edge, older, newest], policy(keep_days=2), now=NOW)
        assert ids(decision.keep) == {edge.id, newest.id}
        assert ids(decision.delete) == {older.id}


class TestGfs:
    def test_daily_keeps_the_newest_of_each_recent_day(self):
        morning = [snap(NOW.replace(hour=1) - timedelta(days=n)) for n in range(4)]
        evening = [snap(NOW.replace(hour=11) - timedelta(days=n)) for n in range(4)]
        decision = decide_retention(morning + evening, policy(gfs={"daily": 3}), now=NOW)
        assert ids(decision.keep) == ids(evening[:3])
        assert ids(decision.delete) == ids(morning) | {evening[3].id}

    def test_days_without_snapshots_do_not_use_up_the_count(self):
        """A gap of several days: the count goes back to days that have a snapshot."""
        today = snap(NOW)
        week_ago = snap(NOW - timedelta(days=7))
        two_weeks_ago = snap(NOW - timedelta(days=14))
        decision = decide_retention(
            [today, week_ago, two_weeks_ago], policy(gfs={"daily": 2}), now=NOW
        )
        assert ids(decision.keep) == {today.id, week_ago.id}
        assert ids(decision.delete) == {two_weeks_ago.id}

    def test_weekly_uses_iso_weeks_monday_to_sunday(self):
        # 2026-11-23 is a Monday (week 48); the 22nd is Sunday of week 47.
        monday = snap(datetime(2026, 11, 23, 1, tzinfo=UTC))
        wednesday = snap(datetime(2026, 11, 25, 1, tzinfo=UTC))
        sunday = snap(datetime(2026, 11, 22, 23, tzinfo=UTC))
        saturday = snap(datetime(2026, 11, 21, 23, tzinfo=UTC))
        older = snap(datetime(2026, 11, 15, 23, tzinfo=UTC))  # Sunday of week 46
        decision = decide_retention(
            [monday, wednesday, sunday, saturday, older], policy(gfs={"weekly": 2}), now=NOW
        )
        assert ids(decision.keep) == {wednesday.id, sunday.id}
        assert ids(decision.delete) == {monday.id, saturday.id, older.id}

    def test_iso_week_across_new_year(self):
        """29 Dec 2026 (Tue) and 1 Jan 2027 (Fri) are both in ISO week 53 of 2026."""
        tuesday = snap(datetime(2026, 12, 29, 12, tzinfo=UTC))
        friday = snap(datetime(2027, 1, 1, 12, tzinfo=UTC))
        monday_after = snap(datetime(2027, 1, 4, 12, tzinfo=UTC))
        now = datetime(2027, 1, 5, tzinfo=UTC)
        decision = decide_retention(
            [tuesday, friday, monday_after], policy(gfs={"weekly": 2}), now=now
        )
        assert ids(decision.keep) == {friday.id, monday_after.id}
        assert ids(decision.delete) == {tuesday.id}

    def test_monthly_keeps_the_newest_of_each_month(self):
        nov = [snap(datetime(2026, 11, d, tzinfo=UTC)) for d in (1, 20)]
        octo = [snap(datetime(2026, 10, d, tzinfo=UTC)) for d in (3, 31)]
        sep = [snap(datetime(2026, 9, d, tzinfo=UTC)) for d in (1, 30)]
        decision = decide_retention(nov + octo + sep, policy(gfs={"monthly": 2}), now=NOW)
        assert ids(decision.keep) == {nov[1].id, octo[1].id}
        assert ids(decision.delete) == {nov[0].id, octo[0].id, sep[0].id, sep[1].id}

    def test_buckets_follow_the_time_zone(self):
        """23:30 UTC on the 24th is already the 25th in Berlin: one bucket with the 25th."""
        late = snap(datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
        next_day = snap(datetime(2026, 11, 25, 6, tzinfo=UTC))
        earlier = snap(datetime(2026, 11, 24, 10, tzinfo=UTC))
        everything = [late, next_day, earlier]
        in_utc = decide_retention(everything, policy(gfs={"daily": 2}), now=NOW)
        assert ids(in_utc.keep) == {next_day.id, late.id}
        in_berlin = decide_retention(
            everything, policy(gfs={"daily": 2}), now=NOW, zone=ZoneInfo("Europe/Berlin")
        )
        assert ids(in_berlin.keep) == {next_day.id, earlier.id}
        assert ids(in_berlin.delete) == {late.id}

    def test_daily_weekly_monthly_together(self):
        """Six weeks of dailies: 3 days, 2 more weeks' Sundays, and one month end."""
        snaps = [snap(datetime(2026, 11, 25, 3, tzinfo=UTC) - timedelta(days=n)) for n in range(45)]
        decision = decide_retention(
            snaps, policy(gfs={"daily": 3, "weekly": 3, "monthly": 2}), now=NOW
        )
        kept = {s.created_at.date().isoformat() for s in decision.keep}
        assert kept == {
            "2026-11-25",  # daily, weekly (week 48), monthly (November)
            "2026-11-24",  # daily
            "2026-11-23",  # daily
            "2026-11-22",  # weekly: Sunday of week 47
            "2026-11-15",  # weekly: Sunday of week 46
            "2026-10-31",  # monthly: October's newest
        }
        assert len(decision.delete) == 45 - 6


class TestUnion:
    def test_rules_add_up(self):
        snaps = daily(30)
        decision = decide_retention(
            snaps, policy(keep_last=2, keep_days=5, gfs={"weekly": 4}), now=NOW
        )
        # last 2: 25, 24; 5 days: 25..21 (21st 03:00 is inside 20th 12:00); weekly: newest of
        # weeks 48, 47, 46, 45: 25, 22, 15, 8 Nov.
        kept = sorted(s.created_at.day for s in decision.keep)
        assert kept == [8, 15, 21, 22, 23, 24, 25]
        assert len(decision.delete) == 30 - 7

    def test_reasons_name_every_rule_that_keeps(self):
        snaps = daily(3)
        decision = decide_retention(
            snaps, policy(keep_last=1, keep_days=2, gfs={"daily": 1}), now=NOW
        )
        assert decision.reasons[snaps[0].id] == ["newest", "last", "days", "daily"]
        assert decision.reasons[snaps[1].id] == ["days"]
        assert snaps[2].id not in decision.reasons


class TestSafety:
    def test_the_newest_completed_is_never_pruned_even_when_old(self):
        ancient = snap(NOW - timedelta(days=400))
        older = snap(NOW - timedelta(days=500))
        decision = decide_retention([ancient, older], policy(keep_days=1), now=NOW)
        assert ids(decision.keep) == {ancient.id}
        assert decision.reasons[ancient.id] == ["newest"]
        assert ids(decision.delete) == {older.id}

    def test_a_locked_snapshot_is_never_pruned(self):
        snaps = daily(5)
        locked = snap(NOW - timedelta(days=90), locked=True)
        decision = decide_retention([*snaps, locked], policy(keep_last=1), now=NOW)
        assert locked.id in ids(decision.keep)
        assert decision.reasons[locked.id] == ["locked"]
        assert ids(decision.delete) == ids(snaps[1:])

    @pytest.mark.parametrize("status", ["pending", "in_progress", "failed", "deleted"])
    def test_only_completed_snapshots_are_considered(self, status: str):
        old = snap(NOW - timedelta(days=40), status=status)
        done = daily(3)
        decision = decide_retention([old, *done], policy(keep_last=1), now=NOW)
        assert old.id not in ids(decision.keep) | ids(decision.delete)
        assert ids(decision.delete) == ids(done[1:])

    def test_a_newer_failed_snapshot_does_not_take_the_newest_place(self):
        """The newest *completed* stays, even when a later backup failed."""
        completed = snap(NOW - timedelta(days=30))
        failed = snap(NOW, status="failed")
        decision = decide_retention([completed, failed], policy(keep_days=1), now=NOW)
        assert ids(decision.keep) == {completed.id}
        assert decision.delete == []

    def test_an_empty_policy_prunes_nothing(self):
        snaps = daily(5)
        decision = decide_retention(snaps, RetentionPolicy(), now=NOW)
        assert ids(decision.keep) == ids(snaps)
        assert decision.delete == []

    def test_no_snapshots_no_decision(self):
        decision = decide_retention([], policy(keep_last=1), now=NOW)
        assert decision.keep == []
        assert decision.delete == []


class TestPerDatabase:
    def test_counts_are_per_database(self):
        shop = [snap(NOW - timedelta(days=n), database="shop") for n in range(3)]
        crm = [snap(NOW - timedelta(days=n), database="crm") for n in range(3)]
        decision = decide_retention(shop + crm, policy(keep_last=2), now=NOW)
        assert ids(decision.keep) == ids(shop[:2]) | ids(crm[:2])
        assert ids(decision.delete) == {shop[2].id, crm[2].id}

    def test_the_same_database_name_on_two_servers_is_two_databases(self):
        other = uuid4()
        here = [snap(NOW - timedelta(days=n)) for n in range(2)]
        there = [snap(NOW - timedelta(days=n), server=other) for n in range(2)]
        decision = decide_retention(here + there, policy(keep_last=1), now=NOW)
        assert ids(decision.keep) == {here[0].id, there[0].id}
        assert ids(decision.delete) == {here[1].id, there[1].id}


class TestPolicy:
    def test_the_configuration_json_shape_parses(self):
        parsed = RetentionPolicy.model_validate(
            {"keep_last": 7, "keep_days": 30, "gfs": {"daily": 7, "weekly": 4, "monthly": 12}}
        )
        assert parsed.gfs == GfsCounts(daily=7, weekly=4, monthly=12)
        assert not parsed.empty

    @pytest.mark.parametrize(
        "bad", [{"keep_last": -1}, {"gfs": {"daily": -2}}, {"keep_hours": 3}, {"gfs": {"x": 1}}]
    )
    def test_negative_counts_and_unknown_rules_are_refused(self, bad: dict[str, object]):
        with pytest.raises(ValidationError):
            RetentionPolicy.model_validate(bad)

    def test_null_gfs_counts_are_no_rule(self):
        assert RetentionPolicy.model_validate({"gfs": {"daily": None}}).empty
