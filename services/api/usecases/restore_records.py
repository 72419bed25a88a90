"""Restores and verifies as the catalog records them, with the accepted requests it has
not recorded yet."""

from typing import Any
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.restores import RestoreRequests
from services.api.errors import InvalidRequestError, NotFoundError, UnavailableError
from services.api.restores import pending_restore
from services.api.schemas.restores import RestorePage, RestorePublic, RestoreStatus
from services.api.usecases.snapshots import CATALOG_LAG
from shared.events import utc_now


async def find_restore(
    restore_id: UUID, *, link: BrokerLink, restores: RestoreRequests
) -> RestorePublic:
    """One restore or verify: its target, status, bytes restored, chunks verified, why it
    failed, and for a verify the tables whose row counts differ."""
    reply = await link.ask_catalog({"op": "get_restore", "restore_id": str(restore_id)})
    if reply.get("ok"):
        return RestorePublic.model_validate(reply["restore"])
    if reply.get("error") != "not_found":
        raise UnavailableError(f"the catalog could not answer: {reply.get('error')}")
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
    query: dict[str, Any] = {"op": "list_restores", "limit": limit, "cursor": cursor}
    query |= {"snapshot_id": str(snapshot_id) if snapshot_id else None, "status": status}
    reply = await link.ask_catalog(query)
    if not reply.get("ok"):
        error = str(reply.get("error"))
        if error.startswith("invalid query"):
            raise InvalidRequestError(f"the catalog refused the listing: {error}")
        raise UnavailableError(f"the catalog could not answer: {error}")
    items = [RestorePublic.model_validate(item) for item in reply["restores"]]
    next_cursor = reply.get("next_cursor")
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
