"""The SnapshotDeleteRequested events that delete one snapshot's stored files.

One event per stored copy: the uploader removes artifact and manifest on that
volume, and the catalog marks the copy `deleted`, and the record once no stored copy
remains.
"""

from uuid import UUID

from services.api.adapters.db import VolumeRepository
from services.api.copies import stored_copies
from services.api.errors import ConflictError
from services.api.keys import Keys
from services.api.schemas import SnapshotDetail
from services.api.volumes import volume_spec
from shared.events import SnapshotDeleteRequested
from shared.naming import manifest_key


async def deletion_events(
    snapshot: SnapshotDetail, *, volumes: VolumeRepository, keys: Keys
) -> list[SnapshotDeleteRequested]:
    """One delete request per registered volume holding a copy; ConflictError when none is."""
    events = []
    for volume_id, path, manifest_path in _copies(snapshot):
        volume = await volumes.get(volume_id)
        if volume is None:
            continue
        events.append(
            SnapshotDeleteRequested(
                snapshot_id=snapshot.id,
                volume_id=volume.id,
                volume=keys.sealer.seal(volume_spec(volume, vault=keys.vault)),
                path=path,
                manifest_path=manifest_path or (manifest_key(path) if path else None),
            )
        )
    if not events:
        raise ConflictError(f"the volume of snapshot {snapshot.id} is no longer registered")
    return events


def _copies(snapshot: SnapshotDetail) -> list[tuple[UUID, str | None, str | None]]:
    """(volume, artifact key, manifest key) of every stored copy; a snapshot with
    none stored (a failed one) goes through its primary volume, so the catalog ends it."""
    stored = stored_copies(snapshot)
    if stored:
        return [(copy.volume_id, copy.path, copy.manifest_path) for copy in stored]
    if snapshot.volume_id is None:
        return []
    return [(snapshot.volume_id, snapshot.path, snapshot.manifest_path)]
