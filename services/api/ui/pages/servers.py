"""Database Servers: the list with each one's last backup, add and edit, Test connection,
and the Backup dialog."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.api.errors import ApiError
from services.api.schemas import (
    BackupAccepted,
    BackupCreate,
    ServerCreate,
    ServerPublic,
    ServerUpdate,
)
from services.api.ui.auth import Posted, SignedIn, UiRoute
from services.api.ui.calls import Parts, last_snapshots, list_servers
from services.api.ui.forms import blank_to_none, field_errors, form_values, tags_of
from services.api.ui.rendering import render
from services.api.usecases import servers as server_usecases
from services.api.usecases.backups import manual_order, request_backups
from services.api.vault import VaultError
from shared.events import utc_now
from shared.volumes import VolumeError

router = APIRouter(prefix="/ui/servers", route_class=UiRoute, include_in_schema=False)
SENTENCE_ERRORS = (ApiError, VaultError, VolumeError)
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


@router.get("")
async def servers_page(request: Request, _: SignedIn, api: Parts) -> Response:
    servers = await list_servers(api)
    last = await last_snapshots(api, servers)
    return render(request, "servers.html", {"servers": servers, "last": last})


@router.get("/new")
async def new_server_page(request: Request, _: SignedIn) -> Response:
    return render(request, "server_form.html", {"server": None, "values": {}, "errors": {}})


def _server_body(values: dict[str, str], *, editing: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "type": values.get("type", ""),
        "host": values.get("host", ""),
        "port": values.get("port") or None,
        "username": values.get("username", ""),
        "tags": tags_of(values.get("tags")),
        **blank_to_none(values, "database"),
    }
    if values.get("tls_mode"):
        body["tls"] = {"mode": values["tls_mode"], "ca": values.get("tls_ca") or None}
    elif not editing or "tls_mode" in values:
        body["tls"] = None
    if values.get("password") or not editing:
        body["password"] = values.get("password", "")
    if body["port"] is None and body["type"] in DEFAULT_PORTS:
        body["port"] = DEFAULT_PORTS[body["type"]]
    return body


@router.post("")
async def add_server(request: Request, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    try:
        body = ServerCreate.model_validate(_server_body(values, editing=False))
        created = await server_usecases.register_server(
            body, servers=api.servers, vault=api.keys.vault
        )
    except ValidationError as exc:
        return _form_again(request, None, values, field_errors(exc))
    except SENTENCE_ERRORS as exc:
        return _form_again(request, None, values, {"form": str(exc)})
    return RedirectResponse(f"/ui/servers/{created.id}/edit?added=1", status_code=303)


def _form_again(
    request: Request, server: Any, values: dict[str, str], errors: dict[str, str]
) -> Response:
    values.pop("password", None)  # never sent back to the browser
    context = {"server": server, "values": values, "errors": errors}
    return render(request, "server_form.html", context, status_code=422)


@router.get("/{server_id}/edit")
async def edit_server_page(
    request: Request, server_id: UUID, _: SignedIn, api: Parts, added: bool = False
) -> Response:
    try:
        server = ServerPublic.of(await server_usecases.find_server(server_id, api.servers))
    except ApiError as exc:
        return render(request, "refused.html", {"message": str(exc)}, status_code=404)
    values = server.model_dump(mode="json", exclude={"tls", "tags"})
    values |= {"tags": ", ".join(server.tags), "tls_mode": server.tls.mode if server.tls else ""}
    values["tls_ca"] = (server.tls.ca if server.tls else None) or ""
    context = {"server": server, "values": values, "errors": {}, "added": added}
    return render(request, "server_form.html", context)


@router.post("/{server_id}")
async def update_server(request: Request, server_id: UUID, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    server = await api.servers.get(server_id)
    try:
        body = ServerUpdate.model_validate(_server_body(values, editing=True))
        await server_usecases.update_server(
            server_id, body, servers=api.servers, vault=api.keys.vault, lists=api.lists
        )
    except ValidationError as exc:
        return _form_again(request, server, values, field_errors(exc))
    except SENTENCE_ERRORS as exc:
        return _form_again(request, server, values, {"form": str(exc)})
    return RedirectResponse("/ui/servers", status_code=303)


@router.post("/{server_id}/delete")
async def delete_server(request: Request, server_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await server_usecases.delete_server(
            server_id, servers=api.servers, link=api.link, lists=api.lists, configs=api.configs
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return Response(headers={"HX-Redirect": "/ui/servers"})


@router.post("/{server_id}/test")
async def check_server(request: Request, server_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        report = await server_usecases.test_server(
            server_id,
            servers=api.servers,
            link=api.link,
            keys=api.keys,
            wait=api.settings.test_timeout,
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_checks.html", {"checks": [], "error": str(exc)})
    context = {"checks": report.checks, "archiving": report.archiving, "error": None}
    return render(request, "_checks.html", context)


@router.get("/{server_id}/backup")
async def backup_dialog(request: Request, server_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        server = ServerPublic.of(await server_usecases.find_server(server_id, api.servers))
    except ApiError as exc:
        return render(request, "_error.html", {"error": str(exc)})
    databases: list[str] = []
    database_error = None
    try:
        databases = await server_usecases.server_databases(
            server_id, servers=api.servers, link=api.link, keys=api.keys, lists=api.lists
        )
    except SENTENCE_ERRORS as exc:
        database_error = str(exc)
    context = {
        "server": server,
        "databases": databases,
        "database_error": database_error,
        "volumes": await api.volumes.list(),
    }
    return render(request, "backup_dialog.html", context)


@router.post("/{server_id}/backup")
async def start_backup(request: Request, server_id: UUID, _: Posted, api: Parts) -> Response:
    form = await request.form()
    values = form_values(form)
    body: dict[str, Any] = {
        "server_id": server_id,
        **blank_to_none(values, "database", "volume_id"),
    }
    body["compression"] = values.get("compression") or "gzip"
    # Several volumes: the select is the primary, each ticked box gets a copy.
    body["volume_ids"] = [v for v in form.getlist("volume_ids") if isinstance(v, str) and v]
    body["encrypt"] = values.get("encrypt") == "on"
    try:
        accepted = await request_backups(
            manual_order(BackupCreate.model_validate(body)),
            api.backup_tools,
            requests=api.requests,
            relay=api.relay,
            now=utc_now(),
        )
    except ValidationError as exc:
        errors = field_errors(exc)
        if "volume_id" in errors or "volume_ids" in errors:
            return render(request, "_error.html", {"error": "Choose a volume to store it on."})
        return render(request, "_error.html", {"error": "; ".join(errors.values())})
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    context = {"snapshots": BackupAccepted.of(accepted).snapshots, "server_id": server_id}
    return render(request, "_backup_queued.html", context)
