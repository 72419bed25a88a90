"""`databasement tokens ...`: the API tokens scripts and people sign in with."""

from typing import Annotated

import typer

from services.cli.options import JsonFlag
from services.cli.render import Column, emit_json, err, field, out, output, when
from services.cli.session import client_of

app = typer.Typer(help="API tokens: create, list, revoke.")


COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("CREATED", lambda t: when(t.get("created_at"))),
    ("LAST USED", lambda t: when(t.get("last_used_at"))),
    ("REVOKED", lambda t: when(t.get("revoked_at"))),
    ("ID", field("id")),
]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. nightly-cron.")],
    *,
    as_json: JsonFlag = False,
) -> None:
    """Create a token and print it once on stdout; it cannot be shown again."""
    created = client_of(ctx).post("/api/v1/tokens", {"name": name})
    if as_json:
        emit_json(created)
        return
    out.print(created["token"], markup=False)
    err.print(f"token {created['id']} ({name}): store it now, it is not shown again", markup=False)


@app.command("list")
def list_(ctx: typer.Context, *, as_json: JsonFlag = False) -> None:
    """Every token by name, when it was created and last used (never the token itself)."""
    output(client_of(ctx).get("/api/v1/tokens"), as_json=as_json, columns=COLUMNS)


@app.command("revoke")
def revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(help="The token's id.")]
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    client_of(ctx).delete(f"/api/v1/tokens/{token_id}")
    out.print(f"revoked token {token_id}", markup=False)
