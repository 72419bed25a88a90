"""`databasement snapshots ...`: list, show, download, remove and cancel snapshots."""

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import items_of, resolve
from services.cli.downloads import download
from services.cli.options import JsonFlag
from services.cli.render import Column, emit_json, field, out, output, size, table, when
from services.cli.session import client_of

app = typer.Typer(help="Snapshots: list, show, download, rm, cancel.")

SnapshotId = Annotated[str, typer.Argument(help="The snapshot's id.")]

COLUMNS: list[Column] = [
    ("CREATED", lambda s: when(s.get("created_at"))),
    ("SERVER", field("server_name")),
    ("DATABASE", field("database")),
    ("STATUS", field("status")),
    ("SIZE", lambda s: size(s.get("size"))),
    ("ID", field("id")),
]
DETAILS: list[Column] = [
    ("id", field("id")),
    ("status", field("status")),
    ("error", field("error")),
    ("server", field("server_name")),
    ("database", field("database")),
    ("volume", field("volume_id")),
    ("compression", field("compression")),
    ("created", lambda s: when(s.get("created_at"))),
    ("started", lambda s: when(s.get("started_at"))),
    ("finished", lambda s: when(s.get("finished_at"))),
    ("duration", lambda s: _seconds(s.get("duration_seconds"))),
    ("dumped", lambda s: size(s.get("bytes_dumped"))),
    ("size", lambda s: size(s.get("size"))),
    ("sha256", field("sha256")),
    ("path", field("path")),
    ("locked", field("locked")),
    ("config", field("config_id")),
]
COPIES: list[Column] = [
    ("VOLUME", field("volume_id")),
    ("STATUS", field("status")),
    ("SIZE", lambda c: size(c.get("size"))),
    ("REASON", field("error")),
]
TIMELINE: list[Column] = [
    ("AT", lambda e: when(e.get("occurred_at"))),
    ("EVENT", field("event_type")),
    ("SUMMARY", field("summary")),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    *,
    server: Annotated[str | None, typer.Option(help="Only this server (name or id).")] = None,
    database: Annotated[str | None, typer.Option(help="Only this database.")] = None,
    volume: Annotated[str | None, typer.Option(help="Only this volume (name or id).")] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, in_progress, completed, failed or deleted.")
    ] = None,
    since: Annotated[datetime | None, typer.Option(help="Created at or after (ISO).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Created before (ISO).")] = None,
    sort: Annotated[
        str | None, typer.Option(help="created_at, -created_at, size or -size.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many (1..500).")] = None,
    cursor: Annotated[str | None, typer.Option(help="The next_cursor of a previous page.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Snapshots, newest first; --json prints {"items": [...], "next_cursor": ...}."""
    client = client_of(ctx)
    params: dict[str, Any] = {
        "server_id": resolve(client, "servers", server)["id"] if server else None,
        "database": database,
        "volume_id": resolve(client, "volumes", volume)["id"] if volume else None,
        "status": status,
        "created_from": since.isoformat() if since else None,
        "created_to": until.isoformat() if until else None,
        "sort": sort,
        "limit": limit,
        "cursor": cursor,
    }
    body = client.get("/api/v1/snapshots", params=params)
    items = items_of(body)
    next_cursor = body.get("next_cursor") if isinstance(body, dict) else None
    if as_json:
        emit_json({"items": items, "next_cursor": next_cursor})
        return
    table(items, COLUMNS)
    if next_cursor:
        out.print(f"more: --cursor {next_cursor}", markup=False)


@app.command("show")
def show(ctx: typer.Context, snapshot: SnapshotId, *, as_json: JsonFlag = False) -> None:
    """One snapshot: status, progress, sizes, reason, its copies, manifest and timeline."""
    found = client_of(ctx).get(f"/api/v1/snapshots/{snapshot}")
    if as_json:
        emit_json(found)
        return
    output(found, as_json=False, columns=DETAILS)
    if len(found.get("copies") or []) > 1:  # a backup to several volumes
        table(found["copies"], COPIES, title="copies")
    if found.get("timeline"):
        table(found["timeline"], TIMELINE, title="timeline")


@app.command("download")
def download_(
    ctx: typer.Context,
    snapshot: SnapshotId,
    *,
    output_path: Annotated[
        Path | None, typer.Option("--output", "-o", help="File or directory to write to.")
    ] = None,
) -> None:
    """Save the snapshot's artifact (.sql.gz or .sql.zst) to a file."""
    path = download(client_of(ctx), snapshot, output_path)
    out.print(str(path), markup=False)


@app.command("rm")
def remove(ctx: typer.Context, snapshot: SnapshotId) -> None:
    """Delete the artifact and manifest, then the record (its status becomes deleted)."""
    answer = client_of(ctx).delete(f"/api/v1/snapshots/{snapshot}") or {}
    out.print(f"snapshot {snapshot}: {answer.get('status', 'deleting')}", markup=False)


@app.command("cancel")
def cancel(ctx: typer.Context, snapshot: SnapshotId) -> None:
    """Stop a pending or running backup; it ends failed with "cancelled"."""
    answer = client_of(ctx).post(f"/api/v1/snapshots/{snapshot}/cancel") or {}
    out.print(f"snapshot {snapshot}: {answer.get('status', 'cancelling')}", markup=False)


def _seconds(value: Any) -> str | None:
    return None if value is None else f"{float(value):.1f}s"
