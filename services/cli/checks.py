"""`servers test` and `volumes test`: run the API's checks and show each one in words."""

from collections.abc import Sequence
from typing import Any

from services.cli.client import Client, resolve
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.render import Column, details, emit_json, failure, field, output, table

CHECK_COLUMNS: list[Column] = [
    ("CHECK", field("check")),
    ("OK", lambda c: "[green]yes[/]" if c["ok"] else "[red]no[/]"),
    ("DETAIL", field("detail")),
]


def run_checks(client: Client, resource: str, ref: str, *, as_json: bool) -> None:
    """POST `/{resource}/{id}/test`, print the checks; exit code 3 when one fails."""
    found = resolve(client, resource, ref)
    checks = client.post(f"/api/v1/{resource}/{found['id']}/test")["checks"]
    kind = resource.rstrip("s")
    output(checks, as_json=as_json, columns=CHECK_COLUMNS, title=f"{kind} {found['name']}")
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
