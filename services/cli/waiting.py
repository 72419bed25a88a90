"""Waiting for snapshots to finish, with a live progress bar of bytes dumped and rate."""

import time
from typing import Any

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
from services.cli.errors import CliError
from services.cli.render import err

TERMINAL = frozenset({"completed", "failed", "deleted"})
POLL_SECONDS = 0.5


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


def wait_for(
    client: Client, snapshots: list[dict[str, Any]], *, timeout: float | None = None
) -> list[dict[str, Any]]:
    """Poll every snapshot until each is terminal; the final details, in the same order."""
    deadline = None if timeout is None else time.monotonic() + timeout
    final: dict[str, dict[str, Any]] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]:<11} {task.fields[dumped]:>10}"),
        RateColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[str, TaskID] = {
            s["id"]: progress.add_task(
                str(s.get("database") or s["id"]), total=None, status="pending", dumped="0 B"
            )
            for s in snapshots
        }
        while len(final) < len(tasks):
            for snapshot_id, task in tasks.items():
                if snapshot_id in final:
                    continue
                snapshot = client.get(f"/api/v1/snapshots/{snapshot_id}")
                done = bytes_dumped(snapshot)
                status = snapshot["status"]
                progress.update(task, completed=done, status=status, dumped=decimal(done))
                if status in TERMINAL:
                    final[snapshot_id] = snapshot
                    progress.update(task, total=max(done, 1), completed=max(done, 1))
                    progress.stop_task(task)
            if len(final) < len(tasks):
                if deadline is not None and time.monotonic() > deadline:
                    waiting = [i for i in tasks if i not in final]
                    raise CliError(f"still running after {timeout:g}s: {', '.join(waiting)}")
                time.sleep(POLL_SECONDS)
    return [final[s["id"]] for s in snapshots]


RESTORE_TERMINAL = frozenset({"completed", "failed"})


def wait_for_restore(
    client: Client,
    restore: dict[str, Any],
    *,
    label: str,
    total: int | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Poll one restore (or verify) until it is completed or failed; its final record.

    The bar counts uncompressed bytes fed to the client tool, against `total` (the
    snapshot's dump size) when it is known.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]:<11} {task.fields[restored]:>10}"),
        RateColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task(label, total=total or None, status="pending", restored="0 B")
        while True:
            record: dict[str, Any] = client.get(f"/api/v1/restores/{restore['id']}")
            done = int(record.get("bytes_restored") or 0)
            status = record["status"]
            progress.update(task, completed=done, status=status, restored=decimal(done))
            if status in RESTORE_TERMINAL:
                if status == "completed":
                    progress.update(task, total=max(done, 1), completed=max(done, 1))
                progress.stop_task(task)
                return record
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(f"still running after {timeout:g}s: {restore['id']}")
            time.sleep(POLL_SECONDS)
