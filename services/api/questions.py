"""What the api asks the other services over the broker, and how their answers are read.

The catalog knows snapshots, the dumper knows database servers, the uploader knows volumes.
"""

import asyncio
from typing import Any
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.databases import DatabaseLists
from services.api.errors import InvalidRequestError, UnavailableError
from services.api.models import Server
from services.api.schemas.servers import Check
from services.api.schemas.volumes import VolumeUsage
from shared.logging import get_logger

log = get_logger(__name__)


async def list_databases(
    server: Server, sealed_connection: str, link: BrokerLink, *, lists: DatabaseLists
) -> list[str]:
    """Every database of `server` as the dumper lists them, remembered for a while."""
    reply = await link.ask_dumper({"op": "list_databases", "connection": sealed_connection})
    if not reply.get("ok"):
        error = reply.get("error") or "no reason given"
        raise InvalidRequestError(f"cannot list the databases of server {server.name!r}: {error}")
    databases = [str(name) for name in reply.get("databases") or []]
    lists.remember(server.id, databases)
    return databases


async def check_database(
    server: Server, database: str, sealed_connection: str, link: BrokerLink, *, lists: DatabaseLists
) -> None:
    """InvalidRequestError unless `database` is on `server`.

    A remembered list that lacks it is asked again: the database may be new. With the broker
    unreachable nothing can be asked; the request is accepted into the outbox unchecked, and
    the dumper reports a missing database as the snapshot's failure.
    """
    if not link.ready.is_set():
        log.warning("database_not_checked", server_id=str(server.id), reason="broker_unreachable")
        return
    cached = lists.cached(server.id)
    if cached is not None and database in cached:
        return
    if database not in await list_databases(server, sealed_connection, link, lists=lists):
        raise InvalidRequestError(f"database {database!r} does not exist on server {server.name!r}")


async def test_connection(
    server: Server, sealed_connection: str, link: BrokerLink, *, wait: float
) -> list[Check]:
    """The dumper's checks of `server`: reachable, authenticated, version, privileges, tool."""
    body = {"op": "test_connection", "connection": sealed_connection, "database": server.database}
    reply = await link.ask_dumper(body, wait=wait)
    return _checks(reply, who="dumper", what=f"server {server.name!r}")


async def test_volume(
    name: str, sealed_volume: str, link: BrokerLink, *, wait: float
) -> list[Check]:
    """The uploader's write, read and delete of a probe object on the volume."""
    reply = await link.ask_uploader({"op": "test_volume", "volume": sealed_volume}, wait=wait)
    return _checks(reply, who="uploader", what=f"volume {name!r}")


def _checks(reply: dict[str, Any], *, who: str, what: str) -> list[Check]:
    checks = reply.get("checks")
    if not reply.get("ok") or not isinstance(checks, list):
        error = reply.get("error") or "no reason given"
        raise UnavailableError(f"the {who} could not test {what}: {error}")
    return [Check.model_validate(check) for check in checks]


async def volume_usage(
    volume_id: UUID, sealed_volume: str, link: BrokerLink, *, wait: float
) -> VolumeUsage:
    """Bytes and snapshots held (catalog), free space (uploader); null where none answered."""
    held, free = await asyncio.gather(
        _ask_quietly(link.ask_catalog, {"op": "volume_usage", "volume_id": str(volume_id)}, wait),
        _ask_quietly(link.ask_uploader, {"op": "volume_free_space", "volume": sealed_volume}, wait),
    )
    return VolumeUsage(
        bytes=_int(held, "bytes"),
        snapshots=_int(held, "snapshots"),
        free_bytes=_int(free, "free_bytes"),
    )


async def _ask_quietly(ask: Any, body: dict[str, Any], wait: float) -> dict[str, Any]:
    try:
        reply: dict[str, Any] = await ask(body, wait=wait)
    except UnavailableError:
        return {}
    return reply if reply.get("ok") else {}


def _int(reply: dict[str, Any], key: str) -> int | None:
    value = reply.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def ask_activity(link: BrokerLink, op: str, **ids: UUID) -> dict[str, Any]:
    """The catalog's `server_activity` or `volume_activity` answer; 503 when it has none."""
    reply = await link.ask_catalog({"op": op, **{k: str(v) for k, v in ids.items()}})
    if not reply.get("ok"):
        raise UnavailableError(f"the catalog could not answer: {reply.get('error')}")
    return reply


SIZE_HINT_WAIT = 2.0
"""Seconds the catalog gets to say how big a database's last snapshot was."""


async def last_snapshot_sizes(
    server_id: UUID, databases: list[str], link: BrokerLink
) -> dict[str, int]:
    """Compressed bytes of each database's newest completed snapshot, for the dumper to size
    its parts by. Best effort: a database the catalog has no answer for is left out, and the
    dumper asks its server for the database's size instead."""

    async def newest_size(database: str) -> int | None:
        query = {
            "op": "list_snapshots",
            "status": "completed",
            "server_id": str(server_id),
            "database": database,
            "limit": 1,
        }
        try:
            reply = await link.ask_catalog(query, wait=SIZE_HINT_WAIT)
        except UnavailableError:
            return None
        snapshots = reply.get("snapshots") if reply.get("ok") else None
        size = snapshots[0].get("size") if isinstance(snapshots, list) and snapshots else None
        return size if isinstance(size, int) and size > 0 else None

    if not link.ready.is_set():
        return {}
    sizes = await asyncio.gather(*(newest_size(database) for database in databases))
    return {d: size for d, size in zip(databases, sizes, strict=True) if size is not None}
