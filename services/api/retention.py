"""Which snapshots a retention policy keeps and which it prunes. Pure.

The rules, per database (server and database name together):
- only completed snapshots are ever pruned; anything else is left out of the decision;
- the newest completed snapshot is always kept, and so is every locked one;
- `keep_last` N keeps the N newest;
- `keep_days` D keeps every snapshot created within D x 24 hours before `now`;
- GFS `daily` / `weekly` / `monthly` N keep the newest snapshot of each of the N most recent
  calendar days / ISO weeks / calendar months *that hold a snapshot* (as restic and borg
  count them, so a gap in the backups does not leave a bucket count with nothing to keep).
  Buckets are read in the policy's time zone (the configuration's, else UTC): a snapshot
  taken at 23:30 UTC is on the next day in Europe/Berlin;
- the rules combine as a union: a snapshot any rule keeps is kept;
- a policy with no rule at all keeps everything (nothing is pruned by accident).
"""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class GfsCounts(BaseModel):
    """Grandfather-father-son counts: how many days, ISO weeks and months keep one each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: int | None = Field(default=None, ge=0, description="Days that keep their newest.")
    weekly: int | None = Field(default=None, ge=0, description="ISO weeks that keep their newest.")
    monthly: int | None = Field(default=None, ge=0, description="Months that keep their newest.")


class RetentionPolicy(BaseModel):
    """A backup configuration's `retention`: every rule is optional, and they add up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_last: int | None = Field(default=None, ge=0, description="The N newest.")
    keep_days: int | None = Field(default=None, ge=0, description="Those of the last D days.")
    gfs: GfsCounts | None = Field(default=None, description="Newest per day, week and month.")

    @property
    def empty(self) -> bool:
        """True when no rule would keep anything: such a policy prunes nothing."""
        gfs = self.gfs or GfsCounts()
        counts = (self.keep_last, self.keep_days, gfs.daily, gfs.weekly, gfs.monthly)
        return not any(counts)


@dataclass(frozen=True)
class SnapshotFacts:
    """What retention needs to know of one snapshot."""

    id: UUID
    server_id: UUID
    database: str
    created_at: datetime
    locked: bool = False
    status: str = "completed"


@dataclass(frozen=True)
class RetentionDecision:
    """Kept and pruned snapshots (newest first), and why each kept one stays."""

    keep: list[SnapshotFacts] = field(default_factory=list)
    delete: list[SnapshotFacts] = field(default_factory=list)
    reasons: dict[UUID, list[str]] = field(default_factory=dict)


def decide_retention(
    snapshots: Iterable[SnapshotFacts],
    policy: RetentionPolicy,
    *,
    now: datetime,
    zone: tzinfo = UTC,
) -> RetentionDecision:
    """Keep or prune each completed snapshot of `snapshots` under `policy` at `now`."""
    by_database: dict[tuple[UUID, str], list[SnapshotFacts]] = defaultdict(list)
    for snapshot in snapshots:
        if snapshot.status == "completed":
            by_database[(snapshot.server_id, snapshot.database)].append(snapshot)
    decision = RetentionDecision()
    for group in by_database.values():
        newest_first = sorted(group, key=lambda s: (s.created_at, str(s.id)), reverse=True)
        reasons = _reasons(newest_first, policy, now=now, zone=zone)
        for snapshot in newest_first:
            if reasons[snapshot.id]:
                decision.keep.append(snapshot)
                decision.reasons[snapshot.id] = reasons[snapshot.id]
            else:
                decision.delete.append(snapshot)
    decision.keep.sort(key=lambda s: s.created_at, reverse=True)
    decision.delete.sort(key=lambda s: s.created_at, reverse=True)
    return decision


def _reasons(
    newest_first: Sequence[SnapshotFacts], policy: RetentionPolicy, *, now: datetime, zone: tzinfo
) -> dict[UUID, list[str]]:
    """Every rule that keeps each snapshot of one database; an empty list prunes it."""
    reasons: dict[UUID, list[str]] = {s.id: [] for s in newest_first}
    if policy.empty:
        for snapshot in newest_first:
            reasons[snapshot.id].append("no retention rule")
        return reasons
    reasons[newest_first[0].id].append("newest")
    for snapshot in newest_first:
        if snapshot.locked:
            reasons[snapshot.id].append("locked")
    for snapshot in newest_first[: policy.keep_last or 0]:
        reasons[snapshot.id].append("last")
    if policy.keep_days:
        since = now - timedelta(days=policy.keep_days)
        for snapshot in newest_first:
            if snapshot.created_at >= since:
                reasons[snapshot.id].append("days")
    _add_gfs_reasons(reasons, newest_first, policy.gfs or GfsCounts(), zone=zone)
    return reasons


def _add_gfs_reasons(
    reasons: dict[UUID, list[str]],
    newest_first: Sequence[SnapshotFacts],
    gfs: GfsCounts,
    *,
    zone: tzinfo,
) -> None:
    for name, count, bucket in (
        ("daily", gfs.daily, _day),
        ("weekly", gfs.weekly, _iso_week),
        ("monthly", gfs.monthly, _month),
    ):
        for snapshot in newest_of_buckets(newest_first, count or 0, partial(bucket, zone=zone)):
            reasons[snapshot.id].append(name)


def newest_of_buckets(
    newest_first: Sequence[SnapshotFacts],
    count: int,
    bucket_of: Callable[[SnapshotFacts], Hashable],
) -> list[SnapshotFacts]:
    """The newest snapshot of each of the `count` most recent buckets holding one."""
    chosen: list[SnapshotFacts] = []
    seen: set[Hashable] = set()
    for snapshot in newest_first:
        if len(chosen) >= count:
            break
        bucket = bucket_of(snapshot)
        if bucket not in seen:
            seen.add(bucket)
            chosen.append(snapshot)
    return chosen


def _day(snapshot: SnapshotFacts, zone: tzinfo) -> Hashable:
    return snapshot.created_at.astimezone(zone).date()


def _iso_week(snapshot: SnapshotFacts, zone: tzinfo) -> Hashable:
    year, week, _ = snapshot.created_at.astimezone(zone).isocalendar()
    return (year, week)


def _month(snapshot: SnapshotFacts, zone: tzinfo) -> Hashable:
    local = snapshot.created_at.astimezone(zone)
    return (local.year, local.month)
