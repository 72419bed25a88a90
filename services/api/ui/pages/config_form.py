"""Add, edit and delete a backup configuration from the Configurations page.

The form's fields become the JSON API's body; the API's route functions validate and store
it, so every refusal shown is the API's own. Hooks are picked by name from those the operator
defined (API_HOOKS_FILE). Notification channels are left to the CLI and API (an edit never
touches them: PATCH changes only the fields it names).
"""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.api.deps import get_hooks
from services.api.errors import ApiError
from services.api.models import Volume
from services.api.schemas.backup_configs import (
    BackupConfigCreate,
    BackupConfigPublic,
    BackupConfigUpdate,
)
from services.api.ui.auth import Posted, SignedIn, UiRoute
from services.api.ui.calls import ApiParts, Parts, list_servers, shown_config
from services.api.ui.forms import field_errors, form_values, tags_of
from services.api.ui.rendering import render
from services.api.usecases import configs as config_usecases

router = APIRouter(prefix="/ui/configs", route_class=UiRoute, include_in_schema=False)
GFS = ("daily", "weekly", "monthly")


def _blank(value: str | None) -> str | None:
    return value or None


def config_body(values: dict[str, str], volume_ids: list[str]) -> dict[str, Any]:
    """The API's body from the form's text fields; the API parses and checks them. Pure."""
    mode = values.get("mode") or "all"
    databases: dict[str, Any] = {"mode": mode, "exclude": tags_of(values.get("exclude"))}
    if mode == "list":
        databases["names"] = tags_of(values.get("names"))
    elif mode == "pattern":
        databases["pattern"] = _blank(values.get("pattern"))
    retention: dict[str, Any] = {
        "keep_last": _blank(values.get("keep_last")),
        "keep_days": _blank(values.get("keep_days")),
    }
    if any(values.get(name) for name in GFS):
        retention["gfs"] = {name: values.get(name) or 0 for name in GFS}
    return {
        "name": values.get("name", ""),
        "server_id": _blank(values.get("server_id")),
        "databases": databases,
        "volume_ids": volume_ids,
        "compression": values.get("compression") or "gzip",
        "compression_level": _blank(values.get("compression_level")),
        "encrypt": values.get("encrypt") == "on",
        "schedule": _blank(values.get("schedule")),
        "timezone": values.get("timezone") or "UTC",
        "retention": retention,
        "rpo_hours": _blank(values.get("rpo_hours")),
        "post_backup_hook": _blank(values.get("post_backup_hook")),
        "post_restore_hook": _blank(values.get("post_restore_hook")),
        "enabled": values.get("enabled") == "on",
    }


def form_of(config: BackupConfigPublic) -> dict[str, str]:
    """A stored configuration as the form's text fields. Pure."""
    chosen, kept = config.databases, config.retention
    values = {
        "name": config.name,
        "server_id": str(config.server_id),
        "mode": chosen.mode,
        "names": ", ".join(chosen.names),
        "pattern": chosen.pattern or "",
        "exclude": ", ".join(chosen.exclude),
        "compression": config.compression,
        "compression_level": ""
        if config.compression_level is None
        else str(config.compression_level),
        "encrypt": "on" if config.encrypt else "",
        "schedule": config.schedule or "",
        "timezone": config.timezone,
        "keep_last": str(kept.keep_last or ""),
        "keep_days": str(kept.keep_days or ""),
        "rpo_hours": "" if config.rpo_hours is None else f"{config.rpo_hours:g}",
        "post_backup_hook": config.post_backup_hook or "",
        "post_restore_hook": config.post_restore_hook or "",
        "enabled": "on" if config.enabled else "",
    }
    for name in GFS:
        values[name] = str(getattr(kept.gfs, name) or "") if kept.gfs else ""
    return values


def _ordered(volumes: list[Volume], chosen: list[str]) -> list[Volume]:
    """The chosen volumes first, in their order (the first is the primary), then the rest."""
    rank = {volume_id: index for index, volume_id in enumerate(chosen)}
    return sorted(volumes, key=lambda v: rank.get(str(v.id), len(rank)))


async def _form(
    request: Request,
    api: ApiParts,
    config: BackupConfigPublic | None,
    values: dict[str, str],
    *,
    chosen: list[str],
    errors: dict[str, str],
) -> Response:
    context = {
        "config": config,
        "values": values,
        "chosen": chosen,
        "errors": errors,
        "servers": await list_servers(api),
        "volumes": _ordered(await api.volumes.list(), chosen),
        "hooks": get_hooks(request).public(),
    }
    return render(request, "config_form.html", context, status_code=422 if errors else 200)


def _volumes_of(form: Any) -> list[str]:
    return [v for v in form.getlist("volume_ids") if isinstance(v, str) and v]


@router.get("/new")
async def new_config_page(request: Request, _: SignedIn, api: Parts) -> Response:
    defaults = {"mode": "all", "compression": "gzip", "timezone": "UTC", "enabled": "on"}
    return await _form(request, api, None, defaults, chosen=[], errors={})


@router.post("")
async def add_config(request: Request, _: Posted, api: Parts) -> Response:
    form = await request.form()
    values, chosen = form_values(form), _volumes_of(form)
    try:
        body = BackupConfigCreate.model_validate(config_body(values, chosen))
        await config_usecases.create_config(
            body,
            configs=api.configs,
            servers=api.servers,
            volumes=api.volumes,
            hooks=get_hooks(request),
        )
    except ValidationError as exc:
        return await _form(request, api, None, values, chosen=chosen, errors=field_errors(exc))
    except ApiError as exc:
        return await _form(request, api, None, values, chosen=chosen, errors={"form": str(exc)})
    return RedirectResponse("/ui/configs", status_code=303)


@router.get("/{config_id}/edit")
async def edit_config_page(request: Request, config_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        config = await shown_config(api, config_id)
    except ApiError as exc:
        return render(request, "refused.html", {"message": str(exc)}, status_code=404)
    chosen = [str(v) for v in config.volume_ids]
    return await _form(request, api, config, form_of(config), chosen=chosen, errors={})


@router.post("/{config_id}")
async def update_config(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    form = await request.form()
    values, chosen = form_values(form), _volumes_of(form)
    try:
        config = await shown_config(api, config_id)
    except ApiError as exc:
        return render(request, "refused.html", {"message": str(exc)}, status_code=404)
    try:
        body = BackupConfigUpdate.model_validate(config_body(values, chosen))
        await config_usecases.update_config(
            config_id,
            body,
            configs=api.configs,
            servers=api.servers,
            volumes=api.volumes,
            hooks=get_hooks(request),
        )
    except ValidationError as exc:
        return await _form(request, api, config, values, chosen=chosen, errors=field_errors(exc))
    except ApiError as exc:
        return await _form(request, api, config, values, chosen=chosen, errors={"form": str(exc)})
    return RedirectResponse("/ui/configs", status_code=303)


@router.post("/{config_id}/delete")
async def delete_config(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await config_usecases.delete_config(config_id, api.configs)
    except ApiError as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return Response(headers={"HX-Redirect": "/ui/configs"})
