"""`databasement keys ...`: master keys for encryption at rest (docs/encryption.md)."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from services.cli.errors import CliError
from services.cli.options import JsonFlag
from services.cli.render import emit_json
from services.cli.session import client_of
from shared.encryption import KeyringError, generate_master_key

app = typer.Typer(help="Master keys for encryption at rest.", no_args_is_help=True)


@app.command("generate")
def generate(
    key_id: Annotated[
        str | None,
        typer.Option("--id", help="The key's id; by default k<UTC date and time>."),
    ] = None,
) -> None:
    """Print a new random master key as one keyring entry, id:base64key.

    Put it FIRST in DUMPER_MASTER_KEYS to make it the active key; keep the old keys listed
    until `databasement keys rewrap` has re-wrapped every snapshot's data key.
    """
    chosen = key_id or datetime.now(UTC).strftime("k%Y%m%dT%H%M%S")
    try:
        typer.echo(generate_master_key(chosen))
    except KeyringError as exc:
        raise CliError(str(exc)) from None


@app.command("rewrap")
def rewrap(
    ctx: typer.Context,
    as_json: JsonFlag = False,
) -> None:
    """Re-wrap every encrypted snapshot's data key with the dumper's active (first) master key.

    Only manifests are rewritten, never the data. Run it after putting a new key first in
    DUMPER_MASTER_KEYS and restarting the dumpers; drop the old keys once every snapshot's
    manifest names the new key id (`databasement snapshots show ID`).
    """
    accepted = client_of(ctx).post("/api/v1/encryption/rewrap", {})
    if as_json:
        emit_json(accepted)
        return
    typer.echo(
        f"re-wrap queued for {accepted['requested']} stored copies of "
        f"{len(accepted['snapshot_ids'])} encrypted snapshots"
    )
    for skipped in accepted.get("skipped") or []:
        typer.echo(f"skipped {skipped['snapshot_id']}: {skipped['reason']}")


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: JsonFlag = False,
) -> None:
    """Which master key wraps how many completed encrypted snapshots.

    An old key may leave DUMPER_MASTER_KEYS once it counts no snapshot.
    """
    usage = client_of(ctx).get("/api/v1/encryption/keys")
    if as_json:
        emit_json(usage)
        return
    keys = usage.get("keys") or {}
    if not keys:
        typer.echo("no completed encrypted snapshot")
    for key_id, count in keys.items():
        typer.echo(f"{key_id}\t{count} snapshots")
