"""Which databases a configuration backs up, from the server's list.

A pattern is matched by RE2, whose time is linear in the name's length whatever the pattern,
so a pattern built to backtrack cannot stall the api as Python's `re` would. The match still
runs off the event loop, over a bounded list, with a deadline.
"""

import asyncio
import time

from services.api.backups import SYSTEM_DATABASES
from services.api.configs.model import DatabaseSelection
from services.api.configs.patterns import CompiledPattern, compile_pattern
from services.api.errors import InvalidRequestError

MAX_LISTED = 10_000
"""Most database names a pattern is matched against in one firing."""
MAX_NAME_LENGTH = 255
"""Longer names exist on no supported engine (64 and 63 characters); they never match."""
MATCH_SECONDS = 2.0
"""Longest a selection may take before the firing fails instead."""


def needs_list(selection: DatabaseSelection) -> bool:
    """Whether the server's database list is needed: for `all` and `pattern`, not `list`."""
    return selection.mode != "list"


def select_databases(
    selection: DatabaseSelection, available: list[str] | None, *, seconds: float = MATCH_SECONDS
) -> list[str]:
    """The databases to back up, each once, sorted; system and excluded ones never.

    With mode `list` the names are taken as given (`available` may be None): a name missing on
    the server becomes that snapshot's failure, reported by the dumper with the reason.
    InvalidRequestError when a pattern has too many names to match or takes too long.
    """
    if selection.mode == "list":
        candidates = set(selection.names)
    elif available is None:
        raise ValueError(f"mode {selection.mode!r} needs the server's database list")
    elif selection.mode == "pattern":
        assert selection.pattern is not None  # noqa: S101 - the model refuses pattern mode without one
        candidates = _matching(selection.pattern, available, seconds=seconds)
    else:
        candidates = set(available)
    return sorted(candidates - SYSTEM_DATABASES - set(selection.exclude))


async def select_databases_off_loop(
    selection: DatabaseSelection, available: list[str] | None, *, seconds: float = MATCH_SECONDS
) -> list[str]:
    """select_databases in a worker thread, so the event loop (health checks, requests, the
    other configurations' firings) never waits for it longer than `seconds`."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(select_databases, selection, available, seconds=seconds),
            timeout=seconds + 0.5,  # the thread stops itself at `seconds`; this is the backstop
        )
    except TimeoutError:
        raise _too_slow(seconds) from None


def _matching(pattern: str, available: list[str], *, seconds: float) -> set[str]:
    deadline = time.monotonic() + seconds
    if len(available) > MAX_LISTED:
        raise InvalidRequestError(
            f"the server lists {len(available)} databases; a pattern is matched against at "
            f"most {MAX_LISTED}: use mode 'list' or 'all'"
        )
    try:
        compiled = compile_pattern(pattern)
    except ValueError as exc:  # stored before patterns were checked with RE2
        raise InvalidRequestError(str(exc)) from None
    found = set()
    for name in available:
        if time.monotonic() > deadline:
            raise _too_slow(seconds)
        if len(name) <= MAX_NAME_LENGTH and _fullmatch(compiled, name):
            found.add(name)
    return found


def _fullmatch(compiled: CompiledPattern, name: str) -> bool:
    return compiled.fullmatch(name) is not None


def _too_slow(seconds: float) -> InvalidRequestError:
    return InvalidRequestError(
        f"matching the database pattern took longer than {seconds:g} s; simplify it"
    )
