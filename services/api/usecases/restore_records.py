"""Restores and verifies as the catalog records them, with the accepted requests it has
not recorded yet."""

from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.restores import RestoreRequests
from services.api.asking import ask_catalog_for_one, ask_catalog_for_page
from services.api.errors import NotFoundError
from services.api.restores import pending_restore
from services.api.schemas.restores import RestorePage, RestorePublic, RestoreStatus
from services.api.usecases.snapshots import CATALOG_LAG
from shared.events import utc_now
from shared.queries import GetRestore, ListRestores


async def find_restore(
    restore_id: UUID, *, link: BrokerLink, restores: RestoreRequests
) -> RestorePublic:
    """One restore or verify: its target, status, bytes restored, chunks verified, why it
    failed, and for a verify the tables whose row counts differ."""
    reply = await ask_catalog_for_one(link, GetRestore(restore_id=restore_id))
    if reply is not None:
        return RestorePublic.model_validate(reply.restore)
    request = await restores.get(restore_id)
    if request is None:
        raise NotFoundError(f"restore {restore_id} does not exist")
    return pending_restore(request)


async def list_restores(
    *,
    link: BrokerLink,
    restores: RestoreRequests,
    snapshot_id: UUID | None = None,
    status: RestoreStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RestorePage:
    """Restores and verifies, newest first, one page at a time; only those of `snapshot_id`
    or in `status` when given. Pass `next_cursor` back as `cursor`; it is null on the last."""
    query = ListRestores(snapshot_id=snapshot_id, status=status, limit=limit, cursor=cursor)
    reply = await ask_catalog_for_page(link, query)
    items = [RestorePublic.model_validate(item) for item in reply.restores]
    next_cursor = reply.next_cursor
    if cursor is None and status is None:
        # The first page also shows requests the catalog has not recorded yet (it may lag
        # the outbox by a moment), as far as they belong on this page.
        recent = await restores.since(utc_now() - CATALOG_LAG, snapshot_id=snapshot_id)
        known = {item.id for item in items}
        oldest = items[-1].created_at if items and next_cursor else None
        items += [
            pending_restore(r)
            for r in recent
            if r.id not in known and (oldest is None or r.requested_at >= oldest)
        ]
        items.sort(key=lambda r: (r.created_at, str(r.id)), reverse=True)
    return RestorePage(items=items, next_cursor=next_cursor)
