"""Which databases a configuration backs up, from the server's list. Pure."""

import re

from services.api.backups import SYSTEM_DATABASES
from services.api.configs.model import DatabaseSelection


def needs_list(selection: DatabaseSelection) -> bool:
    """Whether the server's database list is needed: for `all` and `pattern`, not `list`."""
    return selection.mode != "list"


def select_databases(selection: DatabaseSelection, available: list[str] | None) -> list[str]:
    """The databases to back up, each once, sorted; system and excluded ones never.

    With mode `list` the names are taken as given (`available` may be None): a name missing on
    the server becomes that snapshot's failure, reported by the dumper with the reason.
    """
    if selection.mode == "list":
        candidates = set(selection.names)
    elif available is None:
        raise ValueError(f"mode {selection.mode!r} needs the server's database list")
    elif selection.mode == "pattern":
        assert selection.pattern is not None  # noqa: S101 - the model refuses pattern mode without one
        pattern = re.compile(selection.pattern)
        candidates = {name for name in available if pattern.fullmatch(name)}
    else:
        candidates = set(available)
    return sorted(candidates - SYSTEM_DATABASES - set(selection.exclude))
