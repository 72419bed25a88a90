"""Pages from Jinja2 templates, with filters that put numbers into words."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(value: int | None) -> str:
    """Bytes for people: `1.5 MiB`; a dash when not known."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in UNITS:
        if abs(amount) < 1024 or unit == UNITS[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} {UNITS[-1]}"  # pragma: no cover - the loop always returns


def when(value: datetime | None) -> str:
    """A UTC timestamp, to the second."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


def rate(done: int | None, since: datetime | None, *, now: datetime | None = None) -> str:
    """Average bytes per second since `since`: `4.2 MiB/s`."""
    if not done or since is None:
        return "—"
    elapsed = ((now or datetime.now(UTC)) - since).total_seconds()
    if elapsed <= 0:
        return "—"
    return f"{size(int(done / elapsed))}/s"


def time_left(seconds: float | None) -> str:
    """An estimate of the time left: `about 12 s left`; empty when not known."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    return f"about {duration(seconds)} left"


def label(status: str) -> str:
    return status.replace("_", " ")


templates.env.filters.update(
    size=size, when=when, duration=duration, label=label, time_left=time_left
)
templates.env.globals.update(rate=rate)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """The template with the session (for the CSRF token and the user's name) added."""
    full = {"session": getattr(request.state, "ui_session", None), **(context or {})}
    return templates.TemplateResponse(request, name, full, status_code=status_code)
