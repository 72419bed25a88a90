"""Private temporary files (0600) for what a tool must read from disk: options, CA bundles."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def private_file(text: str, *, suffix: str) -> Iterator[Path]:
    """A file only this user can read, holding `text`; deleted when the block ends."""
    fd, name = tempfile.mkstemp(prefix="databasement-", suffix=suffix)  # created 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def optional_file(text: str | None, *, suffix: str) -> Iterator[Path | None]:
    """`private_file` when there is text, else None."""
    if text is None:
        yield None
        return
    with private_file(text, suffix=suffix) as path:
        yield path
