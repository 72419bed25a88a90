"""Configurations: the backup configurations with their schedule, last firing and
overdue databases; Run now, enable/disable, the firings, and pruning (dry run, then Apply).

Every action is the JSON route's own function: the UI decides nothing the API does not.
"""

from collections import defaultdict
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.api.deps import get_hooks
from services.api.errors import ApiError
from services.api.notifications.schemas import OverdueEntry
from services.api.schemas import BackupAccepted
from services.api.schemas.backup_configs import BackupConfigPublic, BackupConfigUpdate
from services.api.ui.auth import Posted, SignedIn, UiRoute
from services.api.ui.calls import ApiParts, Parts, public_config, shown_config, volume_names
from services.api.ui.forms import form_values
from services.api.ui.rendering import render
from services.api.usecases import configs as config_usecases
from services.api.usecases.overdue import overdue_entries
from services.api.usecases.pruning import prune_config
from services.api.vault import VaultError
from shared.volumes import VolumeError

router = APIRouter(prefix="/ui/configs", route_class=UiRoute, include_in_schema=False)
SENTENCE_ERRORS = (ApiError, VaultError, VolumeError)
FIRINGS_SHOWN = 20


def databases_text(config: BackupConfigPublic) -> str:
    """The selection in words: `all`, the names, or the pattern, with what it excludes."""
    chosen = config.databases
    if chosen.mode == "list":
        text = ", ".join(chosen.names)
    elif chosen.mode == "pattern":
        text = f"matching {chosen.pattern}"
    else:
        text = "all"
    if chosen.exclude:
        text += f" (except {', '.join(chosen.exclude)})"
    return text


def retention_text(config: BackupConfigPublic) -> str:
    """The retention policy in words: `last 7, 30 days, GFS 7/4/12`, or `keep all`."""
    kept = config.retention
    parts = []
    if kept.keep_last:
        parts.append(f"last {kept.keep_last}")
    if kept.keep_days:
        parts.append(f"{kept.keep_days} days")
    if kept.gfs and (kept.gfs.daily or kept.gfs.weekly or kept.gfs.monthly):
        parts.append(f"GFS {kept.gfs.daily}/{kept.gfs.weekly}/{kept.gfs.monthly}")
    return ", ".join(parts) or "keep all"


async def _row_context(request: Request, api: ApiParts) -> dict[str, Any]:
    """What every row needs: names by id and each configuration's overdue databases."""
    overdue: dict[UUID, list[OverdueEntry]] = defaultdict(list)
    pool = request.app.state.runtime.pool
    for entry in await overdue_entries(pool, api.settings.schema_name):
        overdue[entry.config_id].append(entry)
    servers = {server.id: server.name for server in await api.servers.list()}
    return {
        "server_names": servers,
        "volume_names": await volume_names(api),
        "overdue": overdue,
        "databases_text": databases_text,
        "retention_text": retention_text,
    }


@router.get("")
async def configs_page(request: Request, _: SignedIn, api: Parts) -> Response:
    configs = [public_config(config) for config in await api.configs.list(server_id=None)]
    context = await _row_context(request, api)
    return render(request, "configs.html", {"configs": configs, **context})


@router.post("/{config_id}/enabled")
async def set_enabled(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    """Enable or disable, then the row again (the schedule is re-armed by the API)."""
    enabled = form_values(await request.form()).get("enabled") == "true"
    try:
        changed = await config_usecases.update_config(
            config_id,
            BackupConfigUpdate(enabled=enabled),
            configs=api.configs,
            servers=api.servers,
            volumes=api.volumes,
            hooks=get_hooks(request),
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)}, status_code=200)
    context = await _row_context(request, api)
    return render(request, "_config_row.html", {"c": public_config(changed), **context})


@router.post("/{config_id}/run")
async def run_now(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    try:
        config = await shown_config(api, config_id)
        accepted = await config_usecases.run_config(
            config_id,
            configs=api.configs,
            tools=api.backup_tools,
            requests=api.requests,
            relay=api.relay,
        )
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    context = {"snapshots": BackupAccepted.of(accepted).snapshots, "server_id": config.server_id}
    return render(request, "_backup_queued.html", context)


@router.get("/{config_id}/firings")
async def firings_dialog(request: Request, config_id: UUID, _: SignedIn, api: Parts) -> Response:
    """The scheduled firings, newest first, with what each requested or why it could not."""
    try:
        config = await shown_config(api, config_id)
        firings = await api.configs.firings(config_id, limit=FIRINGS_SHOWN)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return render(request, "firings_dialog.html", {"c": config, "firings": firings})


async def _prune(api: ApiParts, config_id: UUID, *, dry_run: bool) -> Any:
    return await prune_config(config_id, api.prune_tools, dry_run=dry_run)


@router.post("/{config_id}/prune")
async def prune_dry_run(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    """What the retention policy would delete now, and why the rest is kept: nothing goes."""
    try:
        config = await shown_config(api, config_id)
        plan = await _prune(api, config_id, dry_run=True)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return render(request, "prune_dialog.html", {"c": config, "plan": plan})


@router.post("/{config_id}/prune/apply")
async def prune_apply(request: Request, config_id: UUID, _: Posted, api: Parts) -> Response:
    """Prune for real: the policy is decided again now, as the API does."""
    try:
        result = await _prune(api, config_id, dry_run=False)
    except SENTENCE_ERRORS as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return render(request, "_prune_applied.html", {"result": result})
