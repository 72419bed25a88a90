"""The web UI: pages from Jinja2 templates, made live with vendored HTMX, served by
the api under /ui. It calls the JSON routes' own functions, so it enforces no rule of its own.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from services.api.ui.pages import (
    config_form,
    configs,
    dashboard,
    login,
    servers,
    snapshot_actions,
    snapshots,
    volumes,
)

STATIC_PATH = "/ui/static"

router = APIRouter()
for _page in (
    login,
    dashboard,
    servers,
    volumes,
    snapshots,
    snapshot_actions,
    configs,
    config_form,
):
    router.include_router(_page.router)


def static_files() -> StaticFiles:
    """The CSS, the vendored htmx and the small script, served as they are."""
    return StaticFiles(directory=Path(__file__).parent / "static")


__all__ = ["STATIC_PATH", "router", "static_files"]
