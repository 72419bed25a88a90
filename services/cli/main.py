"""The `databasement` command: global options, sub-commands, and errors as one sentence."""

from typing import Annotated, Any

import typer

from services.cli.commands import (
    backups,
    channels,
    configs,
    decrypt,
    dlq,
    keys,
    restores,
    retention,
    servers,
    snapshots,
    tokens,
    volumes,
)
from services.cli.errors import EXIT_ERROR, CliError
from services.cli.render import failure
from services.cli.session import Session

DEFAULT_URL = "http://127.0.0.1:8000"


class Cli(typer.Typer):
    """A Typer app whose errors end the process with one sentence, never a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except CliError as exc:
            failure(str(exc))
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:
            failure("interrupted")
            raise SystemExit(130) from None
        except Exception as exc:  # the boundary: anything unforeseen is still one sentence
            failure(f"unexpected error ({type(exc).__name__}): {exc}")
            raise SystemExit(EXIT_ERROR) from None


app = Cli(
    name="databasement",
    help="Back up, restore and verify MySQL, MariaDB and PostgreSQL databases through the "
    "Databasement API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="DATABASEMENT_URL", help="Base URL of the Databasement API.")
    ] = DEFAULT_URL,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="DATABASEMENT_TOKEN",
            help="API token (prefer the environment variable: argv is visible to others).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Talk to the Databasement API at --url with the token --token."""
    ctx.obj = Session(url=url, token=token)
    ctx.call_on_close(ctx.obj.close)


configs.app.command("prune")(retention.prune)
snapshots.app.command("lock")(retention.lock)
snapshots.app.command("unlock")(retention.unlock)
volumes.app.command("quota")(retention.quota)
volumes.app.command("usage")(retention.usage)
app.add_typer(servers.app, name="servers")
app.add_typer(volumes.app, name="volumes")
app.add_typer(snapshots.app, name="snapshots")
app.add_typer(tokens.app, name="tokens")
app.add_typer(channels.app, name="channels")
app.add_typer(configs.app, name="configs")
app.add_typer(dlq.app, name="dlq")
app.command("backup")(backups.backup)
app.command("restore")(restores.restore)
app.command("verify")(restores.verify)
app.command("decrypt")(decrypt.decrypt)
app.add_typer(keys.app, name="keys")
