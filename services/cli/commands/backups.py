"""`databasement backup ...`: back up a database (or a whole server) and wait for it."""

from typing import Annotated, Any

import typer

from services.cli.client import Client, resolve
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.options import JsonFlag, NoWait, Timeout
from services.cli.render import Column, emit_json, field, size, table
from services.cli.session import client_of
from services.cli.waiting import wait_for

COLUMNS: list[Column] = [
    ("SNAPSHOT", field("id")),
    ("DATABASE", field("database")),
    ("STATUS", field("status")),
    ("SIZE", lambda s: size(s.get("size"))),
    ("PATH", field("path")),
]


def backup(
    ctx: typer.Context,
    server: Annotated[str, typer.Argument(help="The server's name or id.")],
    *,
    volume: Annotated[
        list[str],
        typer.Option(
            help="The volume's name or id; repeat it for copies on several volumes (the first "
            "is the primary).",
            show_default=False,
        ),
    ],
    database: Annotated[
        str | None,
        typer.Option(help="The database; every one of the server's when absent."),
    ] = None,
    compression: Annotated[str, typer.Option(help="gzip or zstd.")] = "gzip",
    encrypt: Annotated[
        bool,
        typer.Option("--encrypt", help="Seal the artifact with AES-256-GCM (docs/encryption.md)."),
    ] = False,
    no_wait: NoWait = False,
    timeout: Timeout = None,
    as_json: JsonFlag = False,
) -> None:
    """Back up SERVER to one or more volumes; waits until every snapshot is completed or failed.

    The live bar shows about what share is done and how long is left, against the database's
    last completed snapshot. With --json, stdout gets the final snapshots and stderr a
    `backup_progress` JSON line per change (expected_bytes, percent, eta_seconds, estimate).
    Exit code 0 when every snapshot completed, 3 when one failed (its reason on stderr).
    """
    client = client_of(ctx)
    found_server = resolve(client, "servers", server)
    found_volumes = [resolve(client, "volumes", name)["id"] for name in volume]
    body: dict[str, Any] = {
        "server_id": found_server["id"],
        "database": database,
        "volume_id": found_volumes[0],
        "volume_ids": found_volumes[1:],
        "compression": compression,
        "encrypt": encrypt,
    }
    snapshots = client.post("/api/v1/backups", body)["snapshots"]
    wait_and_report_backups(client, snapshots, no_wait=no_wait, timeout=timeout, as_json=as_json)


def wait_and_report_backups(
    client: Client,
    snapshots: list[dict[str, Any]],
    *,
    no_wait: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Wait for the snapshots unless told not to, print them, and exit 3 when one failed."""
    if not no_wait:
        snapshots = wait_for(client, snapshots, timeout=timeout, as_json=as_json)
    if as_json:
        emit_json(snapshots)
    else:
        table(snapshots, COLUMNS)
    failed = [s for s in snapshots if s["status"] == "failed"]
    if failed:
        reasons = "; ".join(
            f"{s.get('database')} ({s['id']}): {s.get('error') or 'no reason given'}"
            for s in failed
        )
        raise CliError(f"backup failed: {reasons}", exit_code=EXIT_FAILED)
