"""Output: Rich tables for people, JSON for scripts, one-sentence errors on stderr."""

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Column = tuple[str, Callable[[dict[str, Any]], Any]]
"""A table column: its header, and how to get its cell from an item."""


def field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda item: item.get(name)


def emit_json(data: Any) -> None:
    """Plain JSON on stdout, no colours: for `--json` and scripts."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def table(items: Sequence[dict[str, Any]], columns: Sequence[Column], *, title: str = "") -> None:
    grid = Table(title=title or None, show_lines=False)
    for header, _ in columns:
        grid.add_column(header, overflow="fold")
    for item in items:
        grid.add_row(*(cell(get(item)) for _, get in columns))
    out.print(grid)


def details(item: dict[str, Any], rows: Sequence[Column]) -> None:
    """One item as a two-column table of its fields."""
    grid = Table(show_header=False, box=None, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for header, get in rows:
        grid.add_row(header, cell(get(item)))
    out.print(grid)


def output(
    data: Any, *, as_json: bool, columns: Sequence[Column] | None = None, title: str = ""
) -> None:
    """JSON when asked for, else a table of a list or the details of one item."""
    if as_json:
        emit_json(data)
    elif isinstance(data, list):
        table(data, columns or [], title=title)
    else:
        details(data, columns or [])


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def size(value: Any) -> str | None:
    """Bytes as a human size, e.g. 12.3 MB."""
    if value is None:
        return None
    number = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if number < 1000 or unit == "TB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1000
    return None


def when(value: Any) -> str | None:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' (UTC), for tables."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(value)


def failure(sentence: str) -> None:
    """One sentence on stderr, prefixed with the program's name."""
    err.print(f"databasement: {sentence}", markup=False)
