"""Where a local volume may lie: under the operator's roots, clear of the staging area and of
the api's own code. Pure but for resolving symlinks on this host.

A user with an API token must not point the uploader at `/etc`, the staging area (whose
chunks a volume's sweep would delete) or the service's own files; the operator names the
directories backups may go to (API_LOCAL_VOLUME_ROOTS).
"""

import os
from collections.abc import Sequence
from pathlib import Path

from services.api.errors import InvalidRequestError

CODE_DIR = Path(__file__).resolve().parents[2]
"""The directory holding the services' code (the repository, or site-packages)."""


def resolved(path: Path | str) -> Path:
    """`path` with `..` and every symlink that exists on this host resolved."""
    return Path(os.path.realpath(path))


def check_volume_roots(roots: Sequence[Path]) -> list[Path]:
    """The roots as given; ValueError when one is `/` (every path would be allowed)."""
    for root in roots:
        if resolved(root) == Path("/"):
            raise ValueError("local_volume_roots: `/` would allow every path; name directories")
    return list(roots)


def check_local_path(
    path: str, *, roots: Sequence[Path], staging: Path | None, code: Path = CODE_DIR
) -> None:
    """InvalidRequestError with a sentence unless `path` lies under one of `roots` and clear
    of the staging area and the services' code."""
    target = resolved(path)
    allowed = [resolved(root) for root in roots]
    if not any(target.is_relative_to(root) for root in allowed):
        named = ", ".join(str(root) for root in allowed) or "none are configured"
        raise InvalidRequestError(
            f"local volume path {path!r} is not under an allowed root ({named}); the operator "
            "sets them in API_LOCAL_VOLUME_ROOTS"
        )
    if staging is not None:
        area = resolved(staging)
        if target.is_relative_to(area) or area.is_relative_to(target):
            raise InvalidRequestError(
                f"local volume path {path!r} overlaps the staging area ({area}); pick a "
                "directory of its own"
            )
    if resolved(code).is_relative_to(target):
        raise InvalidRequestError(
            f"local volume path {path!r} holds the services' own files; pick a directory of its own"
        )
