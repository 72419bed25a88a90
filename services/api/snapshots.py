"""Snapshots as the api shows them: the catalog's records, and the api's own accepted
requests the catalog has not seen yet (it may lag the outbox). Pure."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from services.api.models import BackupRequest
from services.api.schemas import SnapshotPublic


def pending_snapshot(request: BackupRequest, *, server_name: str | None) -> SnapshotPublic:
    """An accepted request the catalog does not know yet: pending, from the api's data."""
    return SnapshotPublic(
        id=request.id,
        status="pending",
        server_id=request.server_id,
        server_name=server_name,
        database=request.database,
        volume_id=request.volume_id,
        compression=request.compression,
        created_at=request.requested_at,
        started_at=None,
        finished_at=None,
        bytes_dumped=0,
        size=None,
        sha256=None,
        path=None,
        error=None,
    )


def merge_pending(
    recorded: Iterable[dict[str, Any]],
    requests: Iterable[BackupRequest],
    *,
    server_names: dict[UUID, str] | None = None,
) -> list[SnapshotPublic]:
    """The catalog's snapshots plus the requests it has not recorded, newest first."""
    snapshots = [SnapshotPublic.model_validate(item) for item in recorded]
    known = {snapshot.id for snapshot in snapshots}
    snapshots += [
        pending_snapshot(request, server_name=(server_names or {}).get(request.server_id))
        for request in requests
        if request.id not in known
    ]
    return sorted(snapshots, key=lambda s: (s.created_at, str(s.id)), reverse=True)
