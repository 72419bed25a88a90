"""Volumes: type, location, usage and free space; add and edit; Test."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import TypeAdapter, ValidationError

from services.api.errors import ApiError
from services.api.schemas import VolumeCreate, VolumeUpdate
from services.api.ui.auth import Posted, SignedIn, UiRoute
from services.api.ui.calls import Parts, list_volumes
from services.api.ui.forms import field_errors, form_values
from services.api.ui.rendering import render
from services.api.usecases import volumes as volume_usecases
from services.api.vault import VaultError
from shared.volumes import VolumeError

router = APIRouter(prefix="/ui/volumes", route_class=UiRoute, include_in_schema=False)
SENTENCE_ERRORS = (ApiError, VaultError, VolumeError)
_create: TypeAdapter[Any] = TypeAdapter(VolumeCreate)
S3_FIELDS = ("endpoint", "bucket", "prefix", "region", "access_key", "secret_key")


@router.get("")
async def volumes_page(request: Request, _: SignedIn, api: Parts) -> Response:
    return render(request, "volumes.html", {"volumes": await list_volumes(api)})


@router.get("/new")
async def new_volume_page(request: Request, _: SignedIn) -> Response:
    context = {"volume": None, "values": {"type": "local", "secure": "on"}, "errors": {}}
    return render(request, "volume_form.html", context)


def _config(values: dict[str, str], *, editing: bool) -> dict[str, Any]:
    if values.get("type") != "s3":
        return {"path": values.get("path", "")}
    config: dict[str, Any] = {name: values.get(name, "") for name in S3_FIELDS}
    config["region"] = config["region"] or None
    config["secure"] = values.get("secure") == "on"
    if editing and not config["secret_key"]:
        del config["secret_key"]  # left empty: the stored secret stays
    return config


def _quota(values: dict[str, str]) -> dict[str, Any]:
    """The quota fields of the form; an empty quota is none."""
    return {
        "quota_bytes": values.get("quota_bytes", "").strip() or None,
        "quota_action": values.get("quota_action") or "refuse",
    }


def _form_again(
    request: Request, volume: Any, values: dict[str, str], errors: dict[str, str]
) -> Response:
    values.pop("secret_key", None)  # never sent back to the browser
    if "config" in errors:  # a rule on the whole config (an absolute path) names no field
        errors.setdefault("path" if values.get("type") != "s3" else "form", errors.pop("config"))
    context = {"volume": volume, "values": values, "errors": errors}
    return render(request, "volume_form.html", context, status_code=422)


@router.post("")
async def add_volume(request: Request, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    body = {"name": values.get("name", ""), "type": values.get("type", "local")}
    body |= _quota(values)
    try:
        volume = _create.validate_python(body | {"config": _config(values, editing=False)})
        created = await volume_usecases.register_volume(
            volume, volumes=api.volumes, keys=api.keys, settings=api.settings
        )
    except ValidationError as exc:
        return _form_again(request, None, values, field_errors(exc))
    except SENTENCE_ERRORS as exc:
        return _form_again(request, None, values, {"form": str(exc)})
    return RedirectResponse(f"/ui/volumes/{created.id}/edit?added=1", status_code=303)


@router.get("/{volume_id}/edit")
async def edit_volume_page(
    request: Request, volume_id: UUID, _: SignedIn, api: Parts, added: bool = False
) -> Response:
    volume = await api.volumes.get(volume_id)
    if volume is None:
        message = f"volume {volume_id} does not exist"
        return render(request, "refused.html", {"message": message}, status_code=404)
    values = {"name": volume.name, "type": volume.type, **volume.config}
    values |= {"quota_bytes": volume.quota_bytes or "", "quota_action": volume.quota_action}
    values["secure"] = "on" if volume.config.get("secure", True) else ""
    context = {"volume": volume, "values": values, "errors": {}, "added": added}
    return render(request, "volume_form.html", context)


@router.post("/{volume_id}")
async def update_volume(request: Request, volume_id: UUID, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    volume = await api.volumes.get(volume_id)
    try:
        body = VolumeUpdate.model_validate(
            {
                "name": values.get("name", ""),
                "type": values.get("type", "local"),
                "config": _config(values, editing=True),
                **_quota(values),
            }
        )
        await volume_usecases.update_volume(
            volume_id,
            body,
            volumes=api.volumes,
            link=api.link,
            keys=api.keys,
            settings=api.settings,
        )
    except ValidationError as exc:
        return _form_again(request, volume, values, field_errors(exc))
    except SENTENCE_ERRORS as exc:
        return _form_again(request, volume, values, {"form": str(exc)})
    return RedirectResponse("/ui/volumes", status_code=303)


@router.post("/{volume_id}/delete")
async def delete_volume(request: Request, volume_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await volume_usecases.delete_volume(
            volume_id, volumes=api.volumes, link=api.link, configs=api.configs
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return Response(headers={"HX-Redirect": "/ui/volumes"})


@router.post("/{volume_id}/test")
async def check_volume(request: Request, volume_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        checks = await volume_usecases.check_volume(
            volume_id,
            volumes=api.volumes,
            link=api.link,
            keys=api.keys,
            wait=api.settings.test_timeout,
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_checks.html", {"checks": [], "error": str(exc)})
    return render(request, "_checks.html", {"checks": checks, "error": None})
