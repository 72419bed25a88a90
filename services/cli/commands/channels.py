"""`databasement channels ...`: where notifications go (docs/notifications.md)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.errors import EXIT_FAILED, CliError
from services.cli.options import JsonFlag
from services.cli.prompts import read_secret
from services.cli.render import Column, emit_json, field, out, output, when
from services.cli.session import client_of

app = typer.Typer(help="Notification channels: webhook, Slack, email. List, add, delete, test.")

PATH = "/api/v1/notification-channels"
SECRET_NAME = {"webhook": "Webhook secret", "slack": "Slack webhook URL", "email": "SMTP password"}


def _target(channel: dict[str, Any]) -> str:
    config = channel.get("config") or {}
    if channel.get("type") == "email":
        return f"{', '.join(config.get('to') or [])} via {config.get('host')}:{config.get('port')}"
    return str(config.get("url") or "(url hidden)")


COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("TYPE", field("type")),
    ("TARGET", _target),
    ("CREATED", lambda c: when(c.get("created_at"))),
    ("ID", field("id")),
]


@app.command("list")
def list_(ctx: typer.Context, *, as_json: JsonFlag = False) -> None:
    """Every channel by name (never its secret)."""
    output(client_of(ctx).get(PATH), as_json=as_json, columns=COLUMNS)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name, e.g. ops-mail.")],
    *,
    type_: Annotated[
        str, typer.Option("--type", help="webhook, slack or email.", show_default=False)
    ],
    url: Annotated[str | None, typer.Option(help="Webhook URL (webhook).")] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            help="The webhook's signing secret, the Slack URL or the SMTP password "
            "(prompted when absent; prefer --secret-stdin: argv is visible to others).",
            show_default=False,
        ),
    ] = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the secret from stdin.")
    ] = False,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server (email).")] = None,
    smtp_port: Annotated[int, typer.Option(help="SMTP port (email).")] = 587,
    smtp_user: Annotated[str | None, typer.Option(help="SMTP user; no AUTH when absent.")] = None,
    from_address: Annotated[
        str | None, typer.Option("--from", help="Sender address (email).")
    ] = None,
    to: Annotated[
        list[str] | None, typer.Option(help="A recipient; repeat for several (email).")
    ] = None,
    starttls: Annotated[bool, typer.Option(help="Require STARTTLS (email).")] = True,
    tls_ca: Annotated[Path | None, typer.Option(help="PEM file of the SMTP server's CA.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a channel; its secret is stored encrypted and never shown again."""
    if type_ not in SECRET_NAME:
        raise CliError(f"unknown channel type {type_!r}: use webhook, slack or email")
    config: dict[str, Any]
    if type_ == "webhook":
        if not url:
            raise CliError("a webhook channel needs --url")
        config = {
            "url": url,
            "secret": read_secret(secret, from_stdin=secret_stdin, prompt=SECRET_NAME[type_]),
        }
    elif type_ == "slack":
        config = {"url": read_secret(secret, from_stdin=secret_stdin, prompt=SECRET_NAME[type_])}
    else:
        if not (smtp_host and from_address and to):
            raise CliError("an email channel needs --smtp-host, --from and at least one --to")
        config = {
            "host": smtp_host,
            "port": smtp_port,
            "from_address": from_address,
            "to": to,
            "starttls": starttls,
        }
        if smtp_user:
            config["username"] = smtp_user
            config["password"] = read_secret(
                secret, from_stdin=secret_stdin, prompt=SECRET_NAME[type_]
            )
        if tls_ca is not None:
            try:
                config["tls_ca"] = tls_ca.read_text()
            except OSError as exc:
                raise CliError(f"cannot read {tls_ca}: {exc.strerror}") from None
    created = client_of(ctx).post(PATH, {"name": name, "type": type_, "config": config})
    if as_json:
        emit_json(created)
        return
    out.print(f"added {type_} channel {created['name']} ({created['id']})", markup=False)


@app.command("delete")
def delete(
    ctx: typer.Context, channel_id: Annotated[str, typer.Argument(help="The channel's id.")]
) -> None:
    """Delete a channel and what is still queued for it."""
    client_of(ctx).delete(f"{PATH}/{channel_id}")
    out.print(f"deleted channel {channel_id}", markup=False)


@app.command("test")
def send_test(
    ctx: typer.Context,
    channel_id: Annotated[str, typer.Argument(help="The channel's id.")],
    *,
    as_json: JsonFlag = False,
) -> None:
    """Send a test notification now; exit 3 with the reason when it does not get through."""
    result = client_of(ctx).post(f"{PATH}/{channel_id}/test", {})
    if as_json:
        emit_json(result)
    if not result.get("ok"):
        raise CliError(
            f"the test notification failed: {result.get('error')}", exit_code=EXIT_FAILED
        )
    if not as_json:
        out.print("test notification sent", markup=False)
