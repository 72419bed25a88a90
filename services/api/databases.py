"""Servers' database lists, remembered briefly so checking a backup request's database
does not make the dumper connect to the server on every request.

Requests that find no fresh list at the same moment share one question to the dumper: a burst
asks once, not once per request (the api's questions are answered one at a time). A list past
its TTL still answers for the databases it names while a fresh one is fetched behind it.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

from shared.logging import get_logger

log = get_logger(__name__)


class DatabaseLists:
    """The last list of each server's databases, for `ttl` seconds."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lists: dict[UUID, tuple[float, list[str]]] = {}
        self._asking: dict[UUID, asyncio.Future[list[str]]] = {}
        self._refreshing: dict[UUID, asyncio.Future[None]] = {}

    def cached(self, server_id: UUID) -> list[str] | None:
        """The remembered list, or None when there is none or it is too old."""
        entry = self._lists.get(server_id)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def last_known(self, server_id: UUID) -> list[str] | None:
        """The last list, however old (None after `forget`, or when none was ever fetched)."""
        entry = self._lists.get(server_id)
        return None if entry is None else entry[1]

    async def shared(self, server_id: UUID, fetch: Callable[[], Awaitable[list[str]]]) -> list[str]:
        """The list `fetch` returns; callers at the same moment share one fetch, its result
        and its failure."""
        asking = self._asking.get(server_id)
        if asking is None:
            asking = asyncio.ensure_future(fetch())
            self._asking[server_id] = asking
            asking.add_done_callback(lambda _: self._asking.pop(server_id, None))
        # Shielded: one caller cancelled (its client went away) does not fail the others.
        return list(await asyncio.shield(asking))

    def refresh_soon(self, server_id: UUID, fetch: Callable[[], Awaitable[list[str]]]) -> None:
        """Fetch the list again in the background, unless a fetch is already under way (a
        burst of requests past the TTL starts one, not one each).

        When the fetch fails (the dumper does not answer), the last list is kept for another
        TTL, so a silent dumper is not asked again by every request.
        """
        if server_id in self._refreshing:
            return

        async def refresh() -> None:
            known = self.last_known(server_id)
            try:
                await self.shared(server_id, fetch)
            except Exception as exc:
                if known is not None and self.last_known(server_id) == known:
                    self.remember(server_id, known)
                log.warning("database_list_not_refreshed", reason=str(exc))

        task = asyncio.ensure_future(refresh())
        self._refreshing[server_id] = task
        task.add_done_callback(lambda _: self._refreshing.pop(server_id, None))

    def remember(self, server_id: UUID, databases: list[str]) -> None:
        self._lists[server_id] = (self._clock() + self._ttl, list(databases))

    def forget(self, server_id: UUID) -> None:
        """After the server changed: its list may be another server's now."""
        self._lists.pop(server_id, None)
