"""The deadline of a request in hand: stored by then, or refused before it stores anything.

The load shedding middleware gives each backup and restore request a time by which it must be
stored; the use cases call `refuse_if_late` just before they store. A refusal is 503 with
Retry-After and nothing stored, so nothing is lost; work started without a deadline (the
scheduler, the web UI) is never refused so.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from services.api.errors import UnavailableError

RETRY_AFTER = 1
"""Seconds a refused client is told to wait: the next second usually has room."""

_answer_by: ContextVar[float | None] = ContextVar("answer_by", default=None)
"""The loop time by which the request in hand must be stored, when it has a deadline."""


def busy_sentence(why: str, retry_after: int = RETRY_AFTER) -> str:
    return f"the api is busy: {why}; try again in {retry_after} s"


class BusyError(UnavailableError):
    """A request refused for want of time before it stored anything (503, Retry-After)."""

    retry_after = str(RETRY_AFTER)


def refuse_if_late() -> None:
    """BusyError when the request in hand is past its deadline; call it just before storing."""
    answer_by = _answer_by.get()
    if answer_by is None:
        return
    late = asyncio.get_running_loop().time() - answer_by
    if late > 0:
        raise BusyError(
            busy_sentence(
                "the request could not be stored within API_MAX_ACCEPT_WAIT under the present load"
            )
        )


@contextlib.contextmanager
def store_by(when: float) -> Iterator[None]:
    """Within this block, the request in hand must be stored by loop time `when`."""
    token = _answer_by.set(when)
    try:
        yield
    finally:
        _answer_by.reset(token)
