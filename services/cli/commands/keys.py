"""`databasement keys ...`: master keys for encryption at rest (docs/encryption.md)."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from services.cli.errors import CliError
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
