"""`databasement restore ...` and `databasement verify ...`: bring a snapshot back, or prove
that it restores, and wait for the outcome."""

from typing import Annotated, Any

import typer

from services.cli.client import resolve
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.options import JsonFlag, NoWait, Timeout
from services.cli.render import Column, field, output, size, when
from services.cli.session import client_of
from services.cli.waiting import wait_for_restore

RESTORED_SUFFIX = "_restored"

DETAILS: list[Column] = [
    ("id", field("id")),
    ("mode", field("mode")),
    ("status", field("status")),
    ("error", field("error")),
    ("snapshot", field("snapshot_id")),
    ("server", field("server_id")),
    ("database", field("database")),
    ("restored", lambda r: size(r.get("bytes_restored"))),
    ("created", lambda r: when(r.get("created_at"))),
    ("finished", lambda r: when(r.get("finished_at"))),
]
VERIFY_DETAILS: list[Column] = [
    *DETAILS,
    ("verify ok", field("verify_ok")),
    ("differences", lambda r: [difference(d) for d in r.get("table_differences") or []]),
]

SnapshotId = Annotated[str, typer.Argument(help="The snapshot's id.")]


def default_database(snapshot: dict[str, Any], server_id: str) -> str:
    """The target database when none is given: the snapshot's own name on another server,
    and that name plus `_restored` on the snapshot's own server (never its source database).
    """
    name = str(snapshot["database"])
    return name + RESTORED_SUFFIX if snapshot.get("server_id") == server_id else name


def restore(
    ctx: typer.Context,
    snapshot: SnapshotId,
    *,
    to: Annotated[
        str, typer.Option("--to", help="The target server's name or id.", show_default=False)
    ],
    database: Annotated[
        str | None,
        typer.Option(
            help="The target database (created if absent). Default: the snapshot's database "
            "name, plus _restored when SERVER is the snapshot's own server.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the database if it exists.")
    ] = False,
    no_wait: NoWait = False,
    timeout: Timeout = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore SNAPSHOT into a database of SERVER; waits until it is completed or failed.

    Exit code 0 when completed, 3 when it failed (the reason on stderr), 1 when the API
    refused the request (e.g. the database exists and --overwrite is absent).
    """
    client = client_of(ctx)
    found = client.get(f"/api/v1/snapshots/{snapshot}")
    server = resolve(client, "servers", to)
    target = database or default_database(found, server["id"])
    body = {
        "snapshot_id": found["id"],
        "server_id": server["id"],
        "database": target,
        "overwrite": overwrite,
    }
    record = client.post("/api/v1/restores", body)
    if not no_wait:
        record = wait_for_restore(
            client,
            record,
            label=f"{found['database']} -> {server['name']}/{target}",
            total=found.get("bytes_dumped"),
            timeout=timeout,
        )
    output(record, as_json=as_json, columns=DETAILS)
    failed = failure_of(record)
    if failed:
        raise CliError(failed, exit_code=EXIT_FAILED)


def verify(
    ctx: typer.Context,
    snapshot: SnapshotId,
    *,
    on: Annotated[
        str,
        typer.Option(
            "--on", help="The server to restore a scratch copy on (name or id).", show_default=False
        ),
    ],
    no_wait: NoWait = False,
    timeout: Timeout = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore SNAPSHOT into a scratch database on SERVER, compare every table's row count
    with the manifest, and drop the scratch database.

    Exit code 0 when every count matches, 3 when the verify failed or a table differs (the
    tables on stderr), 1 when the API refused the request.
    """
    client = client_of(ctx)
    found = client.get(f"/api/v1/snapshots/{snapshot}")
    server = resolve(client, "servers", on)
    record = client.post(f"/api/v1/snapshots/{found['id']}/verify", {"server_id": server["id"]})
    if not no_wait:
        record = wait_for_restore(
            client,
            record,
            label=f"verify {found['database']} on {server['name']}",
            total=found.get("bytes_dumped"),
            timeout=timeout,
        )
    output(record, as_json=as_json, columns=VERIFY_DETAILS)
    failed = failure_of(record)
    if failed:
        raise CliError(failed, exit_code=EXIT_FAILED)


def failure_of(record: dict[str, Any]) -> str | None:
    """The sentence for a failed restore or verify, or None when it did not fail."""
    mode = record.get("mode") or "restore"
    if record.get("status") == "failed":
        return f"{mode} failed: {record.get('error') or 'no reason given'}"
    if (
        mode == "verify"
        and record.get("status") == "completed"
        and record.get("verify_ok") is False
    ):
        tables = ", ".join(difference(d) for d in record.get("table_differences") or [])
        return f"verify failed: row counts differ from the manifest: {tables or 'unknown tables'}"
    return None


def difference(item: dict[str, Any]) -> str:
    """One table's difference in words, e.g. 'public.orders (manifest 100, restored 99)'."""
    expected, actual = item.get("expected"), item.get("actual")
    if expected is None:
        return f"{item['table']} (not in the manifest, restored {actual})"
    if actual is None:
        return f"{item['table']} (manifest {expected}, missing from the restore)"
    return f"{item['table']} (manifest {expected}, restored {actual})"
