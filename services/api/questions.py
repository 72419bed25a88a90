"""What the api asks the other services over the broker, and how their answers are read.

The catalog knows snapshots, the dumper knows database servers, the uploader knows volumes.
"""

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.asking import ask
from services.api.databases import DatabaseLists
from services.api.errors import InvalidRequestError, RefusedError, UnavailableError
from services.api.models import Server
from services.api.schemas.servers import ArchivingReport, Check, ServerCheckReport
from services.api.schemas.volumes import VolumeUsage
from shared.logging import get_logger
from shared.queries import (
    ChecksReply,
    ListDatabases,
    ReplyT,
    TestConnection,
    TestVolume,
    VolumeFreeSpace,
)
from shared.queries import VolumeUsage as VolumeUsageQuery

log = get_logger(__name__)


async def list_databases(
    server: Server, sealed_connection: str, link: BrokerLink, *, lists: DatabaseLists
) -> list[str]:
    """Every database of `server` as the dumper lists them, remembered for a while."""
    return await lists.shared(server.id, _fetcher(server, sealed_connection, link, lists))


def _fetcher(
    server: Server, sealed_connection: str, link: BrokerLink, lists: DatabaseLists
) -> Callable[[], Awaitable[list[str]]]:
    async def fetch() -> list[str]:
        try:
            reply = await ask(link, ListDatabases(connection=sealed_connection))
        except RefusedError as exc:
            raise InvalidRequestError(
                f"cannot list the databases of server {server.name!r}: {exc.reason}"
            ) from None
        lists.remember(server.id, reply.databases)
        return reply.databases

    return fetch


async def check_database(
    server: Server, database: str, sealed_connection: str, link: BrokerLink, *, lists: DatabaseLists
) -> None:
    """InvalidRequestError unless `database` is on `server`.

    A database the last list names is accepted at once; when that list is past its TTL a fresh
    one is fetched behind the request, so no request waits for the dumper while a list is
    known. A database the list lacks is asked about now: it may be new. With the broker
    unreachable nothing can be asked; the request is accepted into the outbox unchecked.
    Either way the dumper reports a missing database as the snapshot's failure.
    """
    if not link.ready.is_set():
        log.warning("database_not_checked", server_id=str(server.id), reason="broker_unreachable")
        return
    known = lists.last_known(server.id)
    if known is not None and database in known:
        if lists.cached(server.id) is None:
            lists.refresh_soon(server.id, _fetcher(server, sealed_connection, link, lists))
        return
    if database not in await list_databases(server, sealed_connection, link, lists=lists):
        raise InvalidRequestError(f"database {database!r} does not exist on server {server.name!r}")


async def test_connection(
    server: Server, sealed_connection: str, link: BrokerLink, *, wait: float
) -> ServerCheckReport:
    """The dumper's checks of `server`: reachable, authenticated, version, privileges, tool;
    and whether it is ready for continuous archiving."""
    request = TestConnection(connection=sealed_connection, database=server.database)
    try:
        reply = await ask(link, request, wait=wait)
    except RefusedError as exc:
        raise UnavailableError(
            f"the {exc.who} could not test server {server.name!r}: {exc.reason}"
        ) from None
    archiving = reply.archiving
    return ServerCheckReport(
        checks=[Check.model_validate(check.model_dump()) for check in reply.checks],
        archiving=ArchivingReport.model_validate(archiving.model_dump()) if archiving else None,
    )


async def test_volume(
    name: str, sealed_volume: str, link: BrokerLink, *, wait: float
) -> list[Check]:
    """The uploader's write, read and delete of a probe object on the volume."""
    request = TestVolume(volume=sealed_volume)
    return await _checks(ask(link, request, wait=wait), what=f"volume {name!r}")


async def _checks(asked: Awaitable[ChecksReply], *, what: str) -> list[Check]:
    try:
        reply = await asked
    except RefusedError as exc:
        raise UnavailableError(f"the {exc.who} could not test {what}: {exc.reason}") from None
    return [Check.model_validate(check.model_dump()) for check in reply.checks]


async def volume_usage(
    volume_id: UUID, sealed_volume: str, link: BrokerLink, *, wait: float
) -> VolumeUsage:
    """Bytes and snapshots held (catalog), free space (uploader); null where none answered."""
    held, free = await asyncio.gather(
        _quietly(ask(link, VolumeUsageQuery(volume_id=volume_id), wait=wait)),
        _quietly(ask(link, VolumeFreeSpace(volume=sealed_volume), wait=wait)),
    )
    return VolumeUsage(
        bytes=held.bytes if held else None,
        snapshots=held.snapshots if held else None,
        free_bytes=free.free_bytes if free else None,
    )


async def _quietly(asked: Awaitable[ReplyT]) -> ReplyT | None:
    """The reply, or None where the service refused or did not answer."""
    try:
        return await asked
    except UnavailableError:  # a refusal too
        return None
