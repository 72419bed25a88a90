"""`databasement configs ...`: backup configurations, their schedules, and running one now."""

from typing import Annotated, Any

import typer

from services.cli.client import Client, is_uuid, resolve
from services.cli.commands.backups import wait_and_report_backups
from services.cli.errors import CliError
from services.cli.options import JsonFlag, NoWait, Timeout
from services.cli.render import Column, field, out, output, when
from services.cli.session import client_of

app = typer.Typer(
    help="Backup configurations: list, show, create, update, delete, run, firings, hooks."
)
PATH = "/api/v1/backup-configs"

ConfigRef = Annotated[str, typer.Argument(help="The configuration's name or id.")]
Opt = typer.Option

COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("SCHEDULE", lambda c: f"{c.get('schedule') or 'manual'} ({c.get('timezone')})"),
    ("DATABASES", lambda c: _databases(c.get("databases") or {})),
    ("ENABLED", field("enabled")),
    ("NEXT RUN", lambda c: when(c.get("next_run_at"))),
    ("LAST FIRED", lambda c: when(c.get("last_fired_at"))),
    ("ID", field("id")),
]


def _databases(selection: dict[str, Any]) -> str:
    mode = selection.get("mode")
    shown = {"list": ", ".join(selection.get("names") or []), "pattern": selection.get("pattern")}
    text = str(shown.get(str(mode)) or "all")
    if selection.get("exclude"):
        text += f" except {', '.join(selection['exclude'])}"
    return text


def find(client: Client, ref: str) -> dict[str, Any]:
    """One configuration by id or by name; CliError when there is none."""
    if is_uuid(ref):
        found: dict[str, Any] = client.get(f"{PATH}/{ref}")
        return found
    matches: list[dict[str, Any]] = [c for c in client.get(PATH) if c["name"] == ref]
    if not matches:
        raise CliError(f"no backup configuration is named {ref!r}")
    return matches[0]


@app.command("list")
def list_(
    ctx: typer.Context,
    *,
    server: Annotated[str | None, Opt(help="Only this server's (name or id).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every backup configuration, by name, with its next run."""
    client = client_of(ctx)
    params = {"server_id": resolve(client, "servers", server)["id"]} if server else None
    output(client.get(PATH, params=params), as_json=as_json, columns=COLUMNS)


@app.command("show")
def show(ctx: typer.Context, config: ConfigRef, *, as_json: JsonFlag = False) -> None:
    """One configuration, every field."""
    output(find(client_of(ctx), config), as_json=as_json, columns=_details())


FIRING_COLUMNS: list[Column] = [
    ("SLOT", lambda f: when(f.get("scheduled_for"))),
    ("FIRED", lambda f: when(f.get("fired_at"))),
    ("SNAPSHOTS", field("snapshots")),
    ("ERROR", field("error")),
]


@app.command("firings")
def firings(
    ctx: typer.Context,
    config: ConfigRef,
    *,
    limit: Annotated[int, Opt(help="How many, newest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The scheduled firings of a configuration, newest first, with failures' reasons."""
    client = client_of(ctx)
    found = find(client, config)
    history = client.get(f"{PATH}/{found['id']}/firings", params={"limit": limit})
    output(history, as_json=as_json, columns=FIRING_COLUMNS)


Names = Annotated[list[str] | None, Opt(help="Repeat for several.", show_default=False)]
HOOK_HELP = "A hook the operator defined (`configs hooks` lists them)."
CLEAR_HOOK = "A hook the operator defined; 'none' for no hook."
HOOK_COLUMNS: list[Column] = [
    ("NAME", field("name")),
    ("EVENTS", lambda h: ", ".join(h.get("events") or [])),
    ("TIMEOUT", lambda h: f"{h.get('timeout'):g} s"),
    ("DESCRIPTION", field("description")),
]


@app.command("hooks")
def hooks(ctx: typer.Context, *, as_json: JsonFlag = False) -> None:
    """The hooks the operator defined in API_HOOKS_FILE, which configurations pick by name."""
    output(client_of(ctx).get("/api/v1/hooks"), as_json=as_json, columns=HOOK_COLUMNS)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name, e.g. shop-nightly.")],
    *,
    server: Annotated[str, Opt(help="The server's name or id.", show_default=False)],
    volume: Annotated[list[str], Opt(help="A volume's name or id; repeat for copies.")],
    database: Names = None,
    pattern: Annotated[str | None, Opt(help="Back up the databases matching it.")] = None,
    exclude: Names = None,
    compression: Annotated[str, Opt(help="gzip or zstd.")] = "gzip",
    level: Annotated[int | None, Opt(help="gzip 0-3, zstd 1-19.")] = None,
    encrypt: Annotated[bool, Opt("--encrypt", help="Encrypt the artifacts.")] = False,
    schedule: Annotated[str | None, Opt(help="Cron, e.g. '0 2 * * *'; none: manual.")] = None,
    timezone: Annotated[str, Opt(help="IANA time zone of the schedule.")] = "UTC",
    keep_last: Annotated[int | None, Opt(help="Retention: the newest N.")] = None,
    keep_days: Annotated[int | None, Opt(help="Retention: the last D days.")] = None,
    gfs: Annotated[str | None, Opt(help="Retention: DAILY,WEEKLY,MONTHLY, e.g. 7,4,12.")] = None,
    rpo_hours: Annotated[float | None, Opt(help="Overdue without a success this long.")] = None,
    notify_on: Annotated[str, Opt(help="failure, success or all.")] = "failure",
    channel: Names = None,
    post_backup_hook: Annotated[str | None, Opt(help=HOOK_HELP, metavar="NAME")] = None,
    post_restore_hook: Annotated[str | None, Opt(help=HOOK_HELP, metavar="NAME")] = None,
    disabled: Annotated[bool, Opt("--disabled", help="Create it disabled.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a backup configuration. Without --database or --pattern it backs up every
    database of the server; system databases never."""
    client = client_of(ctx)
    body: dict[str, Any] = {
        "name": name,
        "server_id": resolve(client, "servers", server)["id"],
        "volume_ids": [resolve(client, "volumes", v)["id"] for v in volume],
        "databases": _selection(database, pattern, exclude),
        "compression": compression,
        "compression_level": level,
        "encrypt": encrypt,
        "schedule": schedule,
        "timezone": timezone,
        "retention": _retention(keep_last, keep_days, gfs),
        "rpo_hours": rpo_hours,
        "notify": {"on": notify_on, "channel_ids": channel or []},
        "post_backup_hook": post_backup_hook,
        "post_restore_hook": post_restore_hook,
        "enabled": not disabled,
    }
    output(client.post(PATH, body), as_json=as_json, columns=_details())


@app.command("update")
def update(
    ctx: typer.Context,
    config: ConfigRef,
    *,
    name: Annotated[str | None, Opt(help="A new name.")] = None,
    volume: Annotated[list[str] | None, Opt(help="Replace the volumes (repeat).")] = None,
    database: Names = None,
    pattern: Annotated[str | None, Opt(help="Back up the databases matching it.")] = None,
    all_databases: Annotated[bool, Opt("--all-databases", help="Every database.")] = False,
    exclude: Names = None,
    compression: Annotated[str | None, Opt(help="gzip or zstd.")] = None,
    level: Annotated[int | None, Opt(help="gzip 0-3, zstd 1-19.")] = None,
    encrypt: Annotated[bool | None, Opt("--encrypt/--no-encrypt")] = None,
    schedule: Annotated[str | None, Opt(help="Cron; 'manual' for none.")] = None,
    timezone: Annotated[str | None, Opt(help="IANA time zone of the schedule.")] = None,
    keep_last: Annotated[int | None, Opt(help="Retention: the newest N.")] = None,
    keep_days: Annotated[int | None, Opt(help="Retention: the last D days.")] = None,
    gfs: Annotated[str | None, Opt(help="Retention: DAILY,WEEKLY,MONTHLY.")] = None,
    rpo_hours: Annotated[float | None, Opt(help="Overdue without a success this long.")] = None,
    notify_on: Annotated[str | None, Opt(help="failure, success or all.")] = None,
    post_backup_hook: Annotated[str | None, Opt(help=CLEAR_HOOK, metavar="NAME")] = None,
    post_restore_hook: Annotated[str | None, Opt(help=CLEAR_HOOK, metavar="NAME")] = None,
    enabled: Annotated[bool | None, Opt("--enable/--disable")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change some fields of a configuration; the others keep their values."""
    client = client_of(ctx)
    current = find(client, config)
    body: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "compression": compression,
            "compression_level": level,
            "encrypt": encrypt,
            "timezone": timezone,
            "rpo_hours": rpo_hours,
            "enabled": enabled,
        }.items()
        if value is not None
    }
    if volume:
        body["volume_ids"] = [resolve(client, "volumes", v)["id"] for v in volume]
    if schedule is not None:
        body["schedule"] = None if schedule == "manual" else schedule
    if database or pattern or all_databases or exclude is not None:
        kept = current["databases"]
        if not (database or pattern or all_databases):
            database, pattern = kept.get("names") or None, kept.get("pattern")
        body["databases"] = _selection(
            database, pattern, exclude if exclude is not None else kept.get("exclude")
        )
    if keep_last is not None or keep_days is not None or gfs is not None:
        kept = current["retention"]
        body["retention"] = {k: v for k, v in kept.items() if v is not None} | _retention(
            keep_last, keep_days, gfs
        )
    if notify_on is not None:
        body["notify"] = current["notify"] | {"on": notify_on}
    for key, hook in (
        ("post_backup_hook", post_backup_hook),
        ("post_restore_hook", post_restore_hook),
    ):
        if hook is not None:
            body[key] = None if hook == "none" else hook
    if not body:
        raise CliError("nothing to change: give at least one option")
    updated = client.patch(f"{PATH}/{current['id']}", body)
    output(updated, as_json=as_json, columns=_details())


@app.command("delete")
def delete(ctx: typer.Context, config: ConfigRef) -> None:
    """Delete a configuration (its snapshots stay)."""
    client = client_of(ctx)
    found = find(client, config)
    client.delete(f"{PATH}/{found['id']}")
    out.print(f"deleted backup configuration {found['name']}", markup=False)


@app.command("run")
def run(
    ctx: typer.Context,
    config: ConfigRef,
    *,
    no_wait: NoWait = False,
    timeout: Timeout = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a configuration now; waits until every snapshot is completed or failed.

    Exit code 0 when every snapshot completed, 3 when one failed (its reason on stderr).
    """
    client = client_of(ctx)
    found = find(client, config)
    snapshots = client.post(f"{PATH}/{found['id']}/run")["snapshots"]
    wait_and_report_backups(client, snapshots, no_wait=no_wait, timeout=timeout, as_json=as_json)


def _selection(
    names: list[str] | None, pattern: str | None, exclude: list[str] | None
) -> dict[str, Any]:
    if names and pattern:
        raise CliError("give --database or --pattern, not both")
    mode = "list" if names else "pattern" if pattern else "all"
    return {"mode": mode, "names": names or [], "pattern": pattern, "exclude": exclude or []}


def _retention(keep_last: int | None, keep_days: int | None, gfs: str | None) -> dict[str, Any]:
    retention: dict[str, Any] = {}
    if keep_last is not None:
        retention["keep_last"] = keep_last
    if keep_days is not None:
        retention["keep_days"] = keep_days
    if gfs is not None:
        parts = gfs.split(",")
        if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
            raise CliError(f"--gfs takes DAILY,WEEKLY,MONTHLY counts, e.g. 7,4,12, not {gfs!r}")
        daily, weekly, monthly = (int(part) for part in parts)
        retention["gfs"] = {"daily": daily, "weekly": weekly, "monthly": monthly}
    return retention


def _details() -> list[Column]:
    return [
        ("name", field("name")),
        ("id", field("id")),
        ("server", field("server_id")),
        ("volumes", field("volume_ids")),
        ("databases", lambda c: _databases(c.get("databases") or {})),
        ("compression", lambda c: f"{c.get('compression')} level {c.get('compression_level')}"),
        ("encrypt", field("encrypt")),
        ("schedule", lambda c: c.get("schedule") or "manual"),
        ("timezone", field("timezone")),
        ("enabled", field("enabled")),
        ("next run", lambda c: when(c.get("next_run_at"))),
        ("last fired", lambda c: when(c.get("last_fired_at"))),
        ("last error", field("last_error")),
        ("retention", field("retention")),
        ("rpo hours", field("rpo_hours")),
        ("notify", field("notify")),
        ("post-backup hook", field("post_backup_hook")),
        ("post-restore hook", field("post_restore_hook")),
        ("created", lambda c: when(c.get("created_at"))),
    ]
