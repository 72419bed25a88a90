"""When a configuration is due: cron schedules in a time zone, and the slot to fire. Pure.

A schedule has 5 fields (minute hour day month weekday), or 6 with a leading seconds field
(`*/5 * * * * *` is every 5 seconds), for tests and short intervals. Slots are computed in the
configuration's time zone, so `0 2 * * *` is 02:00 local time across daylight-saving changes.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

ONE_SECOND = timedelta(seconds=1)
SECONDS_FIRST = True
"""A 6-field schedule puts seconds first (as Quartz and Spring do), not croniter's last."""


def check_schedule(schedule: str) -> str:
    """`schedule` normalised, or ValueError with a sentence saying what is wrong."""
    fields = schedule.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"schedule {schedule!r} must have 5 fields (minute hour day month weekday) "
            "or 6 with seconds first"
        )
    normal = " ".join(fields)
    try:
        iterator = croniter(normal, second_at_beginning=SECONDS_FIRST)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise ValueError(f"schedule {schedule!r} is not a valid cron expression: {exc}") from None
    try:
        iterator.get_next(datetime)
    except CroniterBadDateError:
        # e.g. `0 0 31 2 *`: valid fields, but February has no 31st.
        raise ValueError(f"schedule {schedule!r} never fires: no date matches it") from None
    return normal


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone (Europe/Berlin, UTC), else ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {name!r} is not an IANA time zone such as Europe/Berlin"
        ) from None
    return name


def latest_slot(schedule: str, timezone: str, now: datetime) -> datetime:
    """The newest slot of `schedule` at or before `now` (aware), in the schedule's zone."""
    local = now.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    # get_prev is strictly before its start: starting one second later includes `now`'s own
    # second (and, for 5 fields, `now`'s minute).
    iterator = croniter(schedule, local + ONE_SECOND, second_at_beginning=SECONDS_FIRST)
    slot: datetime = iterator.get_prev(datetime)
    return slot


def next_slot(schedule: str, timezone: str, after: datetime) -> datetime:
    """The first slot of `schedule` strictly after `after` (aware), in the schedule's zone."""
    local = after.astimezone(ZoneInfo(timezone))
    slot: datetime = croniter(schedule, local, second_at_beginning=SECONDS_FIRST).get_next(datetime)
    return slot


def due_slot(schedule: str, timezone: str, *, now: datetime, since: datetime) -> datetime | None:
    """The slot to fire now, or None.

    `since` is the newest slot already fired (or the configuration's creation time). Only the
    LATEST slot after it is returned, so slots missed while every replica was down collapse
    into one firing on return instead of one per missed slot.
    """
    slot = latest_slot(schedule, timezone, now)
    return slot if slot > since else None
