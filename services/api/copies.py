"""Which copy of a snapshot to read: restores, verifies and downloads use the first
stored copy whose volume is still registered, the primary first."""

from dataclasses import dataclass
from uuid import UUID

from services.api.adapters.db import VolumeRepository
from services.api.models import Volume
from services.api.schemas import SnapshotPublic


@dataclass(frozen=True)
class StoredCopy:
    """A stored copy: its volume's id, the artifact's key, its manifest's key and size."""

    volume_id: UUID
    path: str
    manifest_path: str | None
    size: int | None


@dataclass(frozen=True)
class ReadableCopy:
    """A stored copy on a registered volume."""

    volume: Volume
    copy: StoredCopy


def stored_copies(snapshot: SnapshotPublic) -> list[StoredCopy]:
    """The snapshot's stored copies in order; a record without copies is its one volume."""
    if snapshot.copies:
        return [
            StoredCopy(copy.volume_id, copy.path, copy.manifest_path, copy.size)
            for copy in snapshot.copies
            if copy.status == "stored" and copy.path
        ]
    if snapshot.volume_id is None or not snapshot.path:
        return []
    manifest_path = getattr(snapshot, "manifest_path", None)
    return [StoredCopy(snapshot.volume_id, snapshot.path, manifest_path, snapshot.size)]


async def readable_copy(snapshot: SnapshotPublic, volumes: VolumeRepository) -> ReadableCopy | None:
    """The first stored copy whose volume is registered; None when there is none."""
    for copy in stored_copies(snapshot):
        volume = await volumes.get(copy.volume_id)
        if volume is not None:
            return ReadableCopy(volume, copy)
    return None
