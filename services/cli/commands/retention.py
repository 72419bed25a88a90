"""`databasement snapshots lock|unlock ID` and `databasement configs prune ID [--apply]`."""

from typing import Annotated, Any

import typer

from services.cli.client import resolve
from services.cli.errors import CliError
from services.cli.options import JsonFlag
from services.cli.render import Column, emit_json, field, out, output, size, table, when
from services.cli.session import client_of

SnapshotId = Annotated[str, typer.Argument(help="The snapshot's id.")]
ConfigRef = Annotated[str, typer.Argument(help="The backup configuration's name or id.")]

PRUNED: list[Column] = [
    ("CREATED", lambda s: when(s.get("created_at"))),
    ("SERVER", field("server_name")),
    ("DATABASE", field("database")),
    ("SIZE", lambda s: size(s.get("size"))),
    ("KEPT BY", lambda s: ", ".join(s.get("reasons") or []) or None),
    ("ID", field("id")),
]


def lock(ctx: typer.Context, snapshot: SnapshotId) -> None:
    """Lock a snapshot: retention never prunes it and rm refuses it until unlocked."""
    answer = client_of(ctx).post(f"/api/v1/snapshots/{snapshot}/lock") or {}
    out.print(f"snapshot {snapshot}: {_state(answer)}", markup=False)


def unlock(ctx: typer.Context, snapshot: SnapshotId) -> None:
    """Unlock a snapshot: retention and rm may remove it again."""
    answer = client_of(ctx).post(f"/api/v1/snapshots/{snapshot}/unlock") or {}
    out.print(f"snapshot {snapshot}: {_state(answer)}", markup=False)


def _state(answer: dict[str, Any]) -> str:
    return "locked" if answer.get("locked") else "unlocked"


def prune(
    ctx: typer.Context,
    config: ConfigRef,
    *,
    apply: Annotated[
        bool, typer.Option("--apply", help="Delete for real (without it: a dry run).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Apply the configuration's retention: list what goes and what stays; --apply deletes."""
    client = client_of(ctx)
    found = resolve(client, "backup-configs", config)
    answer = client.request(
        "POST",
        f"/api/v1/backup-configs/{found['id']}/prune",
        params={"dry_run": "false" if apply else "true"},
    )
    if as_json:
        emit_json(answer)
        return
    verb = "deleting" if apply else "would delete (dry run; --apply to delete)"
    table(answer.get("delete") or [], PRUNED, title=f"{verb}: {len(answer.get('delete') or [])}")
    table(answer.get("keep") or [], PRUNED, title=f"keeping: {len(answer.get('keep') or [])}")


def quota(
    ctx: typer.Context,
    volume: Annotated[str, typer.Argument(help="The volume's name or id.")],
    *,
    quota_bytes: Annotated[
        int | None, typer.Option(help="Most bytes of snapshots it may hold.")
    ] = None,
    action: Annotated[str | None, typer.Option(help="refuse or warn at the quota.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the quota.")] = False,
) -> None:
    """Set, change or remove a volume's quota."""
    client = client_of(ctx)
    found = resolve(client, "volumes", volume)
    body: dict[str, Any] = {}
    if remove:
        body["quota_bytes"] = None
    elif quota_bytes is not None:
        body["quota_bytes"] = quota_bytes
    if action is not None:
        body["quota_action"] = action
    if not body:
        raise CliError("give --quota-bytes, --action or --remove")
    changed = client.patch(f"/api/v1/volumes/{found['id']}", body)
    out.print(
        f"volume {changed['name']}: quota {size(changed.get('quota_bytes')) or 'none'}, "
        f"{changed.get('quota_action')}",
        markup=False,
    )


def usage(
    ctx: typer.Context,
    volume: Annotated[str, typer.Argument(help="The volume's name or id.")],
    *,
    as_json: JsonFlag = False,
) -> None:
    """Used and free bytes of a volume, and its quota."""
    client = client_of(ctx)
    found = resolve(client, "volumes", volume)
    report = client.get(f"/api/v1/volumes/{found['id']}/usage")
    output(report, as_json=as_json, columns=USAGE)


USAGE: list[Column] = [
    ("used", lambda u: size(u.get("used_bytes"))),
    ("snapshots", field("snapshots")),
    ("free", lambda u: size(u.get("free_bytes")) or "unknown"),
    ("quota", lambda u: size(u.get("quota_bytes")) or "none"),
    ("quota action", field("quota_action")),
    ("over quota", field("over_quota")),
]
