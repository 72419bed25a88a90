"""What a waiting `backup` shows of each snapshot: a live bar for people, JSON lines for
scripts (`--json`), both with the percentage and time left against the last backup."""

import json
import sys
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from services.cli.client import Client
from services.cli.estimates import HELD_BELOW, Estimate, RateMeter, about, estimate_of, last_dumped
from services.cli.render import err

TERMINAL = frozenset({"completed", "failed", "deleted"})


class RateColumn(ProgressColumn):
    """Bytes per second: the recent rate, or the average while there are too few samples."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        if speed is None and task.elapsed:
            speed = task.completed / task.elapsed
        return Text(f"{decimal(int(speed))}/s" if speed else "-", style="progress.data.speed")


def bytes_dumped(snapshot: dict[str, Any]) -> int:
    """Bytes the dump tool has produced so far, from either shape of the detail."""
    progress = snapshot.get("progress") or {}
    return int(progress.get("bytes_dumped") or snapshot.get("bytes_dumped") or 0)


@dataclass(frozen=True)
class Report:
    """One snapshot as last polled: the fields of a `--json` progress line."""

    snapshot_id: str
    database: str | None
    status: str
    bytes_dumped: int
    bytes_per_second: float | None
    expected_bytes: int | None
    percent: float | None
    eta_seconds: float | None
    estimate: bool


class Watch:
    """One snapshot being waited for: its rate, and its expected size (asked once)."""

    def __init__(self) -> None:
        self.meter = RateMeter()
        self.expected: int | None = None
        self.looked_up = False

    def observe(self, client: Client, snapshot: dict[str, Any]) -> Report:
        if not self.looked_up and snapshot.get("server_id"):
            self.expected, self.looked_up = last_dumped(client, snapshot), True
        done, status = bytes_dumped(snapshot), snapshot["status"]
        rate = self.meter.rate(done) if status == "in_progress" else None
        found: Estimate = estimate_of(done, status=status, expected=self.expected, rate=rate)
        return Report(
            snapshot_id=str(snapshot["id"]),
            database=snapshot.get("database"),
            status=status,
            bytes_dumped=done,
            bytes_per_second=round(rate, 1) if rate else None,
            **asdict(found),
        )


class Display(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def show(self, report: Report) -> None: ...


class JsonLines:
    """`--json`: a line of JSON on stderr each time a snapshot changes; stdout keeps the one
    final document."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, int]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def show(self, report: Report) -> None:
        state = (report.status, report.bytes_dumped)
        if self._last.get(report.snapshot_id) == state:
            return
        self._last[report.snapshot_id] = state
        line = {"event": "backup_progress", **asdict(report)}
        sys.stderr.write(json.dumps(line, sort_keys=True) + "\n")
        sys.stderr.flush()


class Bars:
    """A live bar per snapshot: status, bytes, about what share and how long left, rate."""

    def __init__(self, snapshots: list[dict[str, Any]]) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]:<11} {task.fields[dumped]:>10}"),
            TextColumn("{task.fields[share]:>9}"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=err,
        )
        self._tasks: dict[str, TaskID] = {
            str(s["id"]): self._progress.add_task(
                str(s.get("database") or s["id"]),
                total=None,
                status="pending",
                dumped="0 B",
                share="",
                left="",
            )
            for s in snapshots
        }

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def show(self, report: Report) -> None:
        task, done = self._tasks[report.snapshot_id], report.bytes_dumped
        if report.status in TERMINAL:
            total = max(done, 1)
        elif report.expected_bytes:  # a bar that never fills before the end
            total = max(report.expected_bytes, int(done * 100 / HELD_BELOW))
        else:
            total = None
        self._progress.update(
            task,
            total=total,
            completed=done if report.status not in TERMINAL else total,
            status=report.status,
            dumped=decimal(done),
            share=_share(report),
            left=about(report.eta_seconds) if report.estimate else "",
        )
        if report.status in TERMINAL:
            self._progress.stop_task(task)


def _share(report: Report) -> str:
    if report.percent is None:
        return ""
    return f"about {report.percent:.0f}%" if report.estimate else f"{report.percent:.0f}%"
