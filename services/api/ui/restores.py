"""Restores and verifies of a snapshot, through the api's restore routes (issue 6)."""

from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.api.errors import UnavailableError
from services.api.schemas import SnapshotDetail
from services.api.ui.calls import ApiParts


def _plain(item: Any) -> dict[str, Any]:
    return item.model_dump() if isinstance(item, BaseModel) else dict(item)


async def restores_of(api: ApiParts, snapshot: SnapshotDetail) -> list[dict[str, Any]]:
    """The restores the snapshot's detail lists, newest first."""
    del api  # the detail already carries them
    found = [_plain(item) for item in getattr(snapshot, "restores", None) or []]
    return sorted(found, key=lambda r: str(r.get("created_at") or ""), reverse=True)


async def request_restore(
    api: ApiParts, snapshot_id: UUID, *, server_id: UUID, database: str, overwrite: bool
) -> UUID:
    """Accept a restore of the snapshot into `database` on the server; the restore's id."""
    del api, snapshot_id, server_id, database, overwrite
    raise UnavailableError("restores are not available in this version of the api yet")


async def request_verify(api: ApiParts, snapshot_id: UUID, *, server_id: UUID) -> UUID:
    """Accept a verify of the snapshot on the server; the id of its restore record."""
    del api, snapshot_id, server_id
    raise UnavailableError("verify is not available in this version of the api yet")
