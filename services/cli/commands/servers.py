"""`databasement servers ...`: the database servers backups are taken from."""

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.checks import run_checks
from services.cli.client import resolve
from services.cli.errors import CliError
from services.cli.options import JsonFlag
from services.cli.prompts import read_secret
from services.cli.render import Column, field, out, output, when
from services.cli.session import client_of

app = typer.Typer(help="Database servers: add, list, show, test, databases, rm.")

ServerRef = Annotated[str, typer.Argument(help="The server's name or id.")]

COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("TYPE", field("type")),
    ("HOST", lambda s: f"{s['host']}:{s['port']}"),
    ("USER", field("username")),
    ("TAGS", field("tags")),
    ("ID", field("id")),
]
DETAILS: list[Column] = [
    ("name", field("name")),
    ("id", field("id")),
    ("type", field("type")),
    ("host", field("host")),
    ("port", field("port")),
    ("username", field("username")),
    ("database", field("database")),
    ("tags", field("tags")),
    ("tls", field("tls")),
    ("created", lambda s: when(s.get("created_at"))),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name, e.g. prod-db.")],
    *,
    type_: Annotated[
        str, typer.Option("--type", help="postgresql, mysql or mariadb.", show_default=False)
    ],
    host: Annotated[str, typer.Option(help="Host name or address.")],
    port: Annotated[int, typer.Option(help="TCP port.")],
    username: Annotated[str, typer.Option("--username", "--user", help="User to dump as.")],
    password: Annotated[
        str | None, typer.Option(help="Password (prompted when absent).", show_default=False)
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    database: Annotated[
        str | None, typer.Option(help="Database to connect to, when the server needs one.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat for several.")] = None,
    tls_mode: Annotated[
        str | None,
        typer.Option(help="disable, prefer, require, verify-ca or verify-full."),
    ] = None,
    tls_ca: Annotated[
        Path | None, typer.Option(help="PEM file of the CA to verify the server with.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a database server; its password is stored encrypted and never shown."""
    body: dict[str, Any] = {
        "name": name,
        "type": type_,
        "host": host,
        "port": port,
        "username": username,
        "password": read_secret(password, from_stdin=password_stdin, prompt="Password"),
    }
    if database is not None:
        body["database"] = database
    if tag:
        body["tags"] = tag
    if tls_mode is not None or tls_ca is not None:
        body["tls"] = {"mode": tls_mode or "verify-full", "ca": _read_ca(tls_ca)}
    server = client_of(ctx).post("/api/v1/servers", body)
    output(server, as_json=as_json, columns=DETAILS)


@app.command("list")
def list_(ctx: typer.Context, *, as_json: JsonFlag = False) -> None:
    """Every registered server."""
    output(client_of(ctx).get("/api/v1/servers"), as_json=as_json, columns=COLUMNS)


@app.command("show")
def show(ctx: typer.Context, server: ServerRef, *, as_json: JsonFlag = False) -> None:
    """One server's settings (never its password)."""
    output(resolve(client_of(ctx), "servers", server), as_json=as_json, columns=DETAILS)


@app.command("test")
def check_(ctx: typer.Context, server: ServerRef, *, as_json: JsonFlag = False) -> None:
    """Connect and report each check; exit code 3 when one fails."""
    run_checks(client_of(ctx), "servers", server, as_json=as_json)


@app.command("databases")
def databases(ctx: typer.Context, server: ServerRef, *, as_json: JsonFlag = False) -> None:
    """The server's databases, without the system ones."""
    client = client_of(ctx)
    found = resolve(client, "servers", server)
    names = client.get(f"/api/v1/servers/{found['id']}/databases")["databases"]
    if as_json:
        output(names, as_json=True)
    else:
        for name in names:
            out.print(name, markup=False)


@app.command("rm")
def remove(ctx: typer.Context, server: ServerRef) -> None:
    """Remove a server (refused while one of its backups runs)."""
    client = client_of(ctx)
    found = resolve(client, "servers", server)
    client.delete(f"/api/v1/servers/{found['id']}")
    out.print(f"removed server {found['name']}", markup=False)


def _read_ca(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except OSError as exc:
        raise CliError(f"cannot read the CA file {path}: {exc.strerror}") from None
