"""`servers test` and `volumes test`: run the API's checks and show each one in words."""

from collections.abc import Sequence
from typing import Any

from rich.markup import escape

from services.cli.client import Client, resolve
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.render import Column, details, emit_json, failure, field, out, output, table

CHECK_COLUMNS: list[Column] = [
    ("CHECK", field("check")),
    ("OK", lambda c: "[green]yes[/]" if c["ok"] else "[red]no[/]"),
    # A detail is the server's words, which may hold brackets ("[mysqld]"): not markup.
    ("DETAIL", lambda c: escape(c["detail"])),
]


def run_checks(client: Client, resource: str, ref: str, *, as_json: bool) -> None:
    """POST `/{resource}/{id}/test`, print the checks; exit code 3 when one fails.

    A server's answer also says whether it is ready for point-in-time recovery: shown under
    the checks (in --json, the API's whole answer), and advice only: it sets no exit code.
    """
    found = resolve(client, resource, ref)
    report = client.post(f"/api/v1/{resource}/{found['id']}/test")
    checks = report["checks"]
    kind = resource.rstrip("s")
    archiving = report.get("archiving") if resource == "servers" else None
    if as_json:
        emit_json(report if resource == "servers" else checks)
    else:
        table(checks, CHECK_COLUMNS, title=f"{kind} {found['name']}")
        if archiving:
            show_archiving(archiving)
    failed = [c["check"] for c in checks if not c["ok"]]
    if failed:
        raise CliError(
            f"{kind} {found['name']!r} failed: {', '.join(failed)}", exit_code=EXIT_FAILED
        )


def test_added(
    client: Client, volume: dict[str, Any], *, as_json: bool, columns: Sequence[Column]
) -> None:
    """Show a volume just added with its test; exit code 3 when a check fails.

    The volume is registered either way: a test that cannot run (no uploader answers) is a
    warning, and a failed check says to fix it and test again.
    """
    name = volume["name"]
    try:
        checks = client.post(f"/api/v1/volumes/{volume['id']}/test")["checks"]
    except CliError as exc:
        output(volume, as_json=as_json, columns=columns)
        failure(f"volume {name} was added, but its test did not run: {exc}")
        return
    if as_json:
        emit_json(volume | {"checks": checks})
    else:
        details(volume, columns)
        table(checks, CHECK_COLUMNS, title=f"volume {name}")
    failed = next((c for c in checks if not c["ok"]), None)
    if failed is not None:
        raise CliError(
            f"volume {name!r} was added, but its test failed: {failed['check']}: "
            f"{failed['detail']}; fix that, then run `databasement volumes test {name}`",
            exit_code=EXIT_FAILED,
        )


def show_archiving(archiving: dict[str, Any]) -> None:
    """The prerequisites of point-in-time recovery, then the verdict with its reasons."""
    if archiving["checks"]:
        table(archiving["checks"], CHECK_COLUMNS, title="point-in-time recovery (advice)")
    colour = "green" if archiving["ready"] else "yellow"
    out.print(f"[{colour}]{escape(archiving['summary'])}[/]", highlight=False)
