"""Servers' database lists, remembered briefly so checking a backup request's database
does not make the dumper connect to the server on every request. Pure."""

import time
from collections.abc import Callable
from uuid import UUID


class DatabaseLists:
    """The last list of each server's databases, for `ttl` seconds."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lists: dict[UUID, tuple[float, list[str]]] = {}

    def cached(self, server_id: UUID) -> list[str] | None:
        """The remembered list, or None when there is none or it is too old."""
        entry = self._lists.get(server_id)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def remember(self, server_id: UUID, databases: list[str]) -> None:
        if self._ttl > 0:
            self._lists[server_id] = (self._clock() + self._ttl, list(databases))

    def forget(self, server_id: UUID) -> None:
        """After the server changed: its list may be another server's now."""
        self._lists.pop(server_id, None)
