"""Waiting for snapshots and restores to finish, with live progress."""

import time
from typing import Any

from rich.filesize import decimal
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from services.cli.backup_progress import TERMINAL, Bars, Display, JsonLines, RateColumn, Watch
from services.cli.client import Client
from services.cli.errors import CliError
from services.cli.render import err

POLL_SECONDS = 0.5


def wait_for(
    client: Client,
    snapshots: list[dict[str, Any]],
    *,
    timeout: float | None = None,
    as_json: bool = False,
) -> list[dict[str, Any]]:
    """Poll every snapshot until each is terminal; the final details, in the same order.

    Progress goes to stderr: live bars, or with `as_json` a JSON line per change.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    final: dict[str, dict[str, Any]] = {}
    watches = {str(s["id"]): Watch() for s in snapshots}
    display: Display = JsonLines() if as_json else Bars(snapshots)
    with display:
        while len(final) < len(watches):
            for snapshot_id, watch in watches.items():
                if snapshot_id in final:
                    continue
                snapshot = client.get(f"/api/v1/snapshots/{snapshot_id}")
                display.show(watch.observe(client, snapshot))
                if snapshot["status"] in TERMINAL:
                    final[snapshot_id] = snapshot
            if len(final) < len(watches):
                if deadline is not None and time.monotonic() > deadline:
                    waiting = [i for i in watches if i not in final]
                    raise CliError(f"still running after {timeout:g}s: {', '.join(waiting)}")
                time.sleep(POLL_SECONDS)
    return [final[str(s["id"])] for s in snapshots]


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
