"""`databasement dlq list|replay`: the messages the workers gave up on, and a second chance."""

from typing import Annotated, Any, Literal

import typer

from services.cli.errors import CliError
from services.cli.options import JsonFlag
from services.cli.render import Column, emit_json, field, out, table, when
from services.cli.session import client_of

app = typer.Typer(help="Dead-lettered messages: list them, replay them.")

Service = Literal["dumper", "uploader", "catalog", "notifications"]

COLUMNS: list[Column] = [
    ("ID", field("id")),
    ("EVENT", lambda d: d.get("event_type") or d.get("routing_key")),
    ("ROUTING KEY", field("routing_key")),
    ("SNAPSHOT", field("snapshot_id")),
    ("REASON", field("reason")),
    ("DEATHS", lambda d: sum(death.get("count", 0) for death in d.get("deaths", []))),
    ("FIRST DIED", lambda d: when(d.get("first_death_at"))),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    *,
    service: Annotated[
        Service | None,
        typer.Option(help="One service's dead letters (dumper, uploader, catalog); all if unset."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many per service.")
    ] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Each service's dead-letter queue: how many wait there, and what they are and why."""
    params: dict[str, Any] = {"limit": limit}
    if service:
        params["service"] = service
    queues = client_of(ctx).get("/api/v1/dead-letters", params=params)
    if as_json:
        emit_json(queues)
        return
    for queue in queues:
        shown = len(queue["items"])
        more = f", first {shown} shown" if shown < queue["count"] else ""
        title = f"{queue['service']}: {queue['count']} dead letter(s) in {queue['queue']}{more}"
        if queue["items"]:
            table(queue["items"], COLUMNS, title=title)
        else:
            out.print(title, markup=False)


@app.command("replay")
def replay(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None, typer.Argument(help="Ids from `dlq list` (omit with --all).")
    ] = None,
    *,
    service: Annotated[Service, typer.Option(help="Whose dead-letter queue.")],
    all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Publish dead letters again under their routing key and take them off the queue."""
    if bool(ids) == all_:
        raise CliError("name the ids to replay, or pass --all (not both)")
    body: dict[str, Any] = {"service": service, "all": all_}
    if ids:
        body["ids"] = ids
    result = client_of(ctx).post("/api/v1/dead-letters/replay", body)
    if as_json:
        emit_json(result)
        return
    out.print(f"replayed {len(result['replayed'])} dead letter(s) of {service}", markup=False)
    problems = []
    if result.get("unroutable"):
        problems.append("kept, no queue would receive them: " + ", ".join(result["unroutable"]))
    if result["not_found"]:
        problems.append("not in the dead-letter queue: " + ", ".join(result["not_found"]))
    if problems:
        raise CliError("; ".join(problems))
