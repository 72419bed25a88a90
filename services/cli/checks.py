"""`servers test` and `volumes test`: run the API's checks and show each one in words."""

from services.cli.client import Client, resolve
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.render import Column, field, output

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
