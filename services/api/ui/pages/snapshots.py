"""Snapshots: the table with filters and pages, live without reloading; the details view."""

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.api.errors import ApiError
from services.api.schemas import SnapshotPublic
from services.api.ui.auth import SignedIn, UiRoute
from services.api.ui.calls import ApiParts, Parts, list_servers, list_snapshots, volume_names
from services.api.ui.listing import RUNNING, Estimate, SnapshotFilters, estimate, poll_every
from services.api.ui.rendering import render
from services.api.ui.restores import restores_of
from services.api.usecases.snapshots import find_snapshot

router = APIRouter(prefix="/ui/snapshots", route_class=UiRoute, include_in_schema=False)


async def _estimates(api: ApiParts, snapshots: list[SnapshotPublic]) -> dict[UUID, Estimate | None]:
    """For each running dump, how far along it is against the last completed one.

    One question per database, however many of its dumps run (a burst of backups of one
    database lists dozens of them on one page).
    """
    running = [s for s in snapshots if s.status == "in_progress" and s.server_id and s.database]
    databases = sorted({(s.server_id, s.database) for s in running}, key=str)
    pages = await asyncio.gather(
        *(
            list_snapshots(api, server_id=server_id, database=database, status="completed", limit=1)
            for server_id, database in databases
        )
    )
    last_dumped = {
        database: page.items[0].bytes_dumped if page.items else None
        for database, page in zip(databases, pages, strict=True)
    }
    return {
        s.id: estimate(s.bytes_dumped, last_dumped[(s.server_id, s.database)], s.started_at)
        for s in running
    }


async def _rows_context(api: ApiParts, filters: SnapshotFilters) -> dict[str, Any]:
    error = None
    items: list[SnapshotPublic] = []
    next_cursor = None
    try:
        page = await list_snapshots(api, **filters.api_filters())
        items, next_cursor = page.items, page.next_cursor
    except ApiError as exc:
        error = str(exc)
    return {
        "snapshots": items,
        "next_cursor": next_cursor,
        "error": error,
        "filters": filters,
        "volume_names": await volume_names(api),
        "estimates": await _estimates(api, items),
        "poll": poll_every([s.status for s in items]),
    }


@router.get("")
async def snapshots_page(request: Request, _: SignedIn, api: Parts) -> Response:
    filters = SnapshotFilters.of(dict(request.query_params))
    context = await _rows_context(api, filters)
    context["servers"] = await list_servers(api)
    return render(request, "snapshots.html", context)


@router.get("/rows")
async def snapshot_rows(request: Request, _: SignedIn, api: Parts) -> Response:
    """The table body alone: what the page polls to stay live without reloading."""
    filters = SnapshotFilters.of(dict(request.query_params))
    return render(request, "_snapshot_rows.html", await _rows_context(api, filters))


async def _detail_context(api: ApiParts, snapshot_id: UUID) -> dict[str, Any]:
    snapshot = await find_snapshot(snapshot_id, **api.snapshot_deps)
    restores = await restores_of(api, snapshot)
    names = await volume_names(api)
    running = snapshot.status in RUNNING or any(r.get("status") in RUNNING for r in restores)
    estimates = await _estimates(api, [snapshot])
    return {
        "s": snapshot,
        # The api's own lock record first: the catalog learns of a change a moment later.
        "locked": await api.locks.is_locked(snapshot.id, catalog_says=snapshot.locked),
        "config": await api.configs.get(snapshot.config_id) if snapshot.config_id else None,
        "restores": restores,
        "volume_name": names.get(snapshot.volume_id) if snapshot.volume_id else None,
        "volume_names": names,
        "estimate": estimates.get(snapshot.id),
        "poll": "every 1s" if running else None,
    }


@router.get("/{snapshot_id}")
async def snapshot_page(request: Request, snapshot_id: UUID, _: SignedIn, api: Parts) -> Response:
    try:
        context = await _detail_context(api, snapshot_id)
    except ApiError as exc:
        return render(request, "refused.html", {"message": str(exc)}, status_code=404)
    return render(request, "snapshot.html", context)


@router.get("/{snapshot_id}/live")
async def snapshot_live(request: Request, snapshot_id: UUID, _: SignedIn, api: Parts) -> Response:
    """The details' changing part, polled while the snapshot or a restore of it runs."""
    try:
        context = await _detail_context(api, snapshot_id)
    except ApiError as exc:
        return render(request, "_error.html", {"error": str(exc)})
    return render(request, "_snapshot_live.html", context)
