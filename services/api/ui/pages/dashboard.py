"""The dashboard, the landing page: counts by status, the last 24 h of backups, storage
used per volume, and the servers whose last backup failed."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.api.errors import ApiError
from services.api.schemas import SnapshotPublic
from services.api.ui.auth import HOME_PATH, SignedIn, UiRoute
from services.api.ui.calls import Parts, last_snapshots, list_servers, list_snapshots, list_volumes
from services.api.ui.rendering import render
from services.api.usecases.overdue import overdue_entries

router = APIRouter(route_class=UiRoute, include_in_schema=False)
COUNTED = ("pending", "in_progress", "completed", "failed")
COUNT_LIMIT = 500
HOURS = 24


def hourly(snapshots: list[SnapshotPublic], *, now: datetime) -> list[Counter[str]]:
    """Statuses per hour over the last 24 h, oldest hour first. Pure."""
    buckets: list[Counter[str]] = [Counter() for _ in range(HOURS)]
    for snapshot in snapshots:
        age = (now - snapshot.created_at).total_seconds() // 3600
        if 0 <= age < HOURS:
            buckets[HOURS - 1 - int(age)][snapshot.status] += 1
    return buckets


@router.get("/")
async def root() -> Response:
    return RedirectResponse(HOME_PATH, status_code=307)


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse(HOME_PATH, status_code=307)


@router.get("/ui/")
async def dashboard(request: Request, _: SignedIn, api: Parts) -> Response:
    now = datetime.now(UTC)
    error = None
    counts: dict[str, str] = {}
    recent: list[SnapshotPublic] = []
    try:
        pages = await asyncio.gather(
            *(list_snapshots(api, status=status, limit=COUNT_LIMIT) for status in COUNTED),
            list_snapshots(api, created_from=now - timedelta(hours=HOURS), limit=COUNT_LIMIT),
        )
        for status, page in zip(COUNTED, pages, strict=False):
            counts[status] = f"{len(page.items)}{'+' if page.next_cursor else ''}"
        recent = pages[-1].items
    except ApiError as exc:
        error = str(exc)
    servers, volumes = await asyncio.gather(list_servers(api), list_volumes(api))
    last = await last_snapshots(api, servers) if not error else {}
    buckets = hourly(recent, now=now)
    context = {
        "error": error,
        "counts": counts,
        "recent": recent[:8],
        "day": Counter(s.status for s in recent),
        "buckets": buckets,
        "tallest": max([sum(b.values()) for b in buckets] + [1]),
        "volumes": volumes,
        "servers": servers,
        "overdue": await overdue_entries(request.app.state.runtime.pool, api.settings.schema_name),
        "failing": [
            (s, last[s.id]) for s in servers if s.id in last and last[s.id].status == "failed"
        ],
    }
    return render(request, "dashboard.html", context)
