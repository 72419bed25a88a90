"""`databasement volumes ...`: where backups are stored, a directory or an S3 bucket."""

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.checks import run_checks, test_added
from services.cli.client import resolve
from services.cli.errors import CliError
from services.cli.options import JsonFlag
from services.cli.prompts import read_secret
from services.cli.render import Column, field, out, output, size, when
from services.cli.session import client_of

app = typer.Typer(help="Storage volumes: add, list, test, rm.")

VolumeRef = Annotated[str, typer.Argument(help="The volume's name or id.")]


def _usage(key: str) -> Any:
    return lambda v: size((v.get("usage") or {}).get(key))


def _where(volume: dict[str, Any]) -> str:
    config = volume.get("config") or {}
    if volume.get("type") == "local":
        return str(config.get("path"))
    return f"s3://{config.get('bucket')}/{config.get('prefix', '')} at {config.get('endpoint')}"


COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("TYPE", field("type")),
    ("WHERE", _where),
    ("USED", _usage("bytes")),
    ("FREE", _usage("free_bytes")),
    ("ID", field("id")),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name, e.g. nas.")],
    *,
    type_: Annotated[str, typer.Option("--type", help="local or s3.", show_default=False)],
    path: Annotated[Path | None, typer.Option(help="Directory (local).")] = None,
    endpoint: Annotated[str | None, typer.Option(help="host[:port] of the S3 API.")] = None,
    bucket: Annotated[str | None, typer.Option(help="Existing bucket (s3).")] = None,
    prefix: Annotated[str, typer.Option(help="Key prefix inside the bucket (s3).")] = "",
    region: Annotated[str | None, typer.Option(help="Region, when needed (s3).")] = None,
    access_key: Annotated[str | None, typer.Option(help="Access key id (s3).")] = None,
    secret_key: Annotated[
        str | None, typer.Option(help="Secret key (s3; prompted when absent).", show_default=False)
    ] = None,
    secret_key_stdin: Annotated[
        bool, typer.Option("--secret-key-stdin", help="Read the secret key from stdin.")
    ] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="Plain HTTP to S3.")] = False,
    quota_bytes: Annotated[
        int | None, typer.Option(help="Most bytes of snapshots it may hold.")
    ] = None,
    quota_action: Annotated[
        str, typer.Option(help="refuse or warn once the quota is reached.")
    ] = "refuse",
    test: Annotated[
        bool,
        typer.Option(
            "--test/--no-test",
            help="Test it once added: a missing directory is made, a missing bucket named.",
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Register a volume, then test it; an S3 secret key is stored encrypted and never shown.

    Exit code 3 when a check of the test fails (the volume stays registered).
    """
    config: dict[str, Any]
    if type_ == "local":
        if path is None:
            raise CliError("a local volume needs --path")
        config = {"path": str(path.absolute())}
    elif type_ == "s3":
        if not (endpoint and bucket and access_key):
            raise CliError("an s3 volume needs --endpoint, --bucket and --access-key")
        secret = read_secret(secret_key, from_stdin=secret_key_stdin, prompt="Secret key")
        config = {
            "endpoint": endpoint,
            "bucket": bucket,
            "prefix": prefix,
            "region": region,
            "access_key": access_key,
            "secret_key": secret,
            "secure": not insecure,
        }
    else:
        raise CliError(f"a volume's type is local or s3, not {type_!r}")
    body: dict[str, Any] = {"name": name, "type": type_, "config": config}
    body |= {"quota_bytes": quota_bytes, "quota_action": quota_action}
    client = client_of(ctx)
    volume = client.post("/api/v1/volumes", body)
    if test:
        test_added(client, volume, as_json=as_json, columns=_details())
    else:
        output(volume, as_json=as_json, columns=_details())


@app.command("list")
def list_(ctx: typer.Context, *, as_json: JsonFlag = False) -> None:
    """Every registered volume, with its usage."""
    output(client_of(ctx).get("/api/v1/volumes"), as_json=as_json, columns=COLUMNS)


@app.command("test")
def check_(ctx: typer.Context, volume: VolumeRef, *, as_json: JsonFlag = False) -> None:
    """Write, read and delete a probe object; exit code 3 when a step fails."""
    run_checks(client_of(ctx), "volumes", volume, as_json=as_json)


@app.command("rm")
def remove(ctx: typer.Context, volume: VolumeRef) -> None:
    """Remove a volume (refused while it holds snapshots)."""
    client = client_of(ctx)
    found = resolve(client, "volumes", volume)
    client.delete(f"/api/v1/volumes/{found['id']}")
    out.print(f"removed volume {found['name']}", markup=False)


def _details() -> list[Column]:
    return [
        ("name", field("name")),
        ("id", field("id")),
        ("type", field("type")),
        ("where", _where),
        ("used", _usage("bytes")),
        ("free", _usage("free_bytes")),
        ("quota", lambda v: size(v.get("quota_bytes"))),
        ("quota action", field("quota_action")),
        ("created", lambda v: when(v.get("created_at"))),
    ]
