"""What can be done to one snapshot: download, restore, verify, cancel, delete, lock."""

import re
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from services.api.download_response import download_response
from services.api.errors import ApiError
from services.api.ui.auth import Posted, SignedIn, UiRoute
from services.api.ui.calls import ApiParts, Parts, list_servers
from services.api.ui.forms import field_errors, form_values
from services.api.ui.rendering import render
from services.api.ui.restores import request_restore, request_verify
from services.api.usecases import snapshots as snapshot_usecases
from services.api.usecases.downloads import download_snapshot
from services.api.vault import VaultError
from shared.volumes import VolumeError

router = APIRouter(prefix="/ui/snapshots", route_class=UiRoute, include_in_schema=False)
SENTENCE_ERRORS = (ApiError, VaultError, VolumeError)


@router.get("/{snapshot_id}/download", response_model=None)
async def download(request: Request, snapshot_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        download = await download_snapshot(
            snapshot_id, **api.snapshot_deps, volumes=api.volumes, keys=api.keys
        )
        return download_response(download)
    except SENTENCE_ERRORS as exc:
        return render(request, "refused.html", {"message": str(exc)}, status_code=409)


@router.post("/{snapshot_id}/cancel")
async def cancel(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await snapshot_usecases.cancel_snapshot(
            snapshot_id, **api.snapshot_deps, outbox=api.outbox, relay=api.relay
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = "Cancelling: the dump stops and the snapshot ends failed with “cancelled”."
    return _changed(render(request, "_notice.html", {"message": message}))


@router.get("/{snapshot_id}/delete")
async def delete_dialog(request: Request, snapshot_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        snapshot = await snapshot_usecases.find_snapshot(snapshot_id, **api.snapshot_deps)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    locked = await api.locks.is_locked(snapshot_id, catalog_says=snapshot.locked)
    return render(request, "delete_dialog.html", {"s": snapshot, "locked": locked})


@router.post("/{snapshot_id}/delete")
async def delete(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await snapshot_usecases.delete_snapshot(
            snapshot_id,
            **api.snapshot_deps,
            volumes=api.volumes,
            outbox=api.outbox,
            relay=api.relay,
            keys=api.keys,
            locks=api.locks,
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = "Deleting: the file and its manifest are removed, then the status becomes deleted."
    return _changed(render(request, "_notice.html", {"message": message}))


async def _change_lock(api: ApiParts, snapshot_id: UUID, *, locked: bool) -> None:
    await snapshot_usecases.change_lock(
        snapshot_id, locked=locked, **api.snapshot_deps, locks=api.locks, relay=api.relay
    )


@router.post("/{snapshot_id}/lock")
async def lock(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await _change_lock(api, snapshot_id, locked=True)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = "Locked: retention never prunes it, and it cannot be deleted until unlocked."
    return _changed(render(request, "_notice.html", {"message": message}))


@router.post("/{snapshot_id}/unlock")
async def unlock(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        await _change_lock(api, snapshot_id, locked=False)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = "Unlocked: retention and Delete may remove it again."
    return _changed(render(request, "_notice.html", {"message": message}))


def _changed(response: Response) -> Response:
    """Tells the details view to refresh at once (HTMX `HX-Trigger`)."""
    response.headers["HX-Trigger"] = "snapshot-changed"
    return response


def _suggested_name(database: str | None) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", database or "restored")[:40]
    return f"{base}_restored"


@router.get("/{snapshot_id}/restore")
async def restore_dialog(request: Request, snapshot_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        snapshot = await snapshot_usecases.find_snapshot(snapshot_id, **api.snapshot_deps)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    context = {
        "s": snapshot,
        "servers": await list_servers(api),
        "suggested": _suggested_name(snapshot.database),
        "mode": request.query_params.get("mode", "restore"),
    }
    return render(request, "restore_dialog.html", context)


@router.post("/{snapshot_id}/restore")
async def restore(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    try:
        server_id = UUID(values.get("server_id", ""))
    except ValueError:
        return render(request, "_error.html", {"error": "Choose the server to restore into."})
    database = values.get("database", "")
    if not database:
        return render(request, "_error.html", {"error": "Name the database to restore into."})
    try:
        restore_id = await request_restore(
            api,
            snapshot_id,
            server_id=server_id,
            database=database,
            overwrite=values.get("overwrite") == "on",
        )
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items())
        return render(request, "_error.html", {"error": f"The database name {problems}"})
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = f"Restore queued into database “{database}” (restore {restore_id}): follow it below."
    return _changed(render(request, "_notice.html", {"message": message}))


@router.post("/{snapshot_id}/verify")
async def verify(request: Request, snapshot_id: UUID, _: Posted, api: Parts) -> Response:
    values = form_values(await request.form())
    try:
        server_id = UUID(values.get("server_id", ""))
    except ValueError:
        return render(request, "_error.html", {"error": "Choose the server to verify on."})
    try:
        restore_id = await request_verify(api, snapshot_id, server_id=server_id)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    message = f"Verify queued (restore {restore_id}): its result shows below when it ends."
    return _changed(render(request, "_notice.html", {"message": message}))
