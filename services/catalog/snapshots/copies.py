"""The copies of a snapshot, one per volume, and how each copy's fate adds up. Pure.

A backup to several volumes is dumped once; the uploader stores the artifact on each volume
and reports each copy on its own (BackupStored or UploadFailed naming the volume). The
expected copies come from BackupRequested: its destination first, then its copies.
"""

from collections.abc import Iterable
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

CopyStatus = Literal["pending", "stored", "failed", "missing", "deleted"]
FINISHED: frozenset[CopyStatus] = frozenset({"stored", "failed", "missing", "deleted"})


class SnapshotCopy(BaseModel):
    """One volume's copy of a snapshot's artifact."""

    model_config = ConfigDict(frozen=True)

    volume_id: UUID
    status: CopyStatus = "pending"
    path: str | None = None
    manifest_path: str | None = None
    size: int | None = None
    error: str | None = None


Copies = tuple[SnapshotCopy, ...]


def expect(copies: Copies, volume_ids: Iterable[UUID]) -> Copies:
    """The copies in the requested order (primary first), each keeping what it already knows;
    a copy reported for a volume that was not asked for stays at the end."""
    known = {copy.volume_id: copy for copy in copies}
    ordered = [known.pop(v, SnapshotCopy(volume_id=v)) for v in dict.fromkeys(volume_ids)]
    return (*ordered, *known.values())


def stored(copies: Copies, volume_id: UUID, *, path: str, manifest_path: str, size: int) -> Copies:
    """The artifact is on the volume: a fact that beats an earlier failure or time-out."""
    copy = _find(copies, volume_id)
    if copy.status in {"stored", "deleted"}:
        return copies
    return _put(
        copies,
        copy.model_copy(
            update={
                "status": "stored",
                "path": path,
                "manifest_path": manifest_path,
                "size": size,
                "error": None,
            }
        ),
    )


def failed(copies: Copies, volume_id: UUID, reason: str) -> Copies:
    """The volume refused the artifact; a copy already stored or deleted stays so."""
    copy = _find(copies, volume_id)
    if copy.status in {"stored", "deleted"}:
        return copies
    return _put(copies, copy.model_copy(update={"status": "failed", "error": reason}))


def deleted(copies: Copies, volume_id: UUID) -> Copies:
    """The volume's files are gone; an unknown volume changes nothing."""
    if all(copy.volume_id != volume_id for copy in copies):
        return copies
    return _put(copies, _find(copies, volume_id).model_copy(update={"status": "deleted"}))


def unfinished_as(copies: Copies, status: CopyStatus, reason: str | None) -> Copies:
    """Every copy still pending ends with `status` and `reason`."""
    return tuple(
        copy.model_copy(update={"status": status, "error": reason})
        if copy.status == "pending"
        else copy
        for copy in copies
    )


def first_stored(copies: Copies) -> SnapshotCopy | None:
    """The copy a snapshot shows: the primary when stored, else the first stored one."""
    return next((copy for copy in copies if copy.status == "stored"), None)


def all_finished(copies: Copies) -> bool:
    return bool(copies) and all(copy.status in FINISHED for copy in copies)


def failure_reason(copies: Copies) -> str:
    """Why no copy was stored: the only copy's reason, or each volume's."""
    if len(copies) == 1:
        return copies[0].error or "the artifact was not stored"
    reasons = "; ".join(f"volume {copy.volume_id}: {copy.error or copy.status}" for copy in copies)
    return f"no copy was stored: {reasons}"


def _find(copies: Copies, volume_id: UUID) -> SnapshotCopy:
    return next((c for c in copies if c.volume_id == volume_id), SnapshotCopy(volume_id=volume_id))


def _put(copies: Copies, copy: SnapshotCopy) -> Copies:
    if all(c.volume_id != copy.volume_id for c in copies):
        return (*copies, copy)
    return tuple(copy if c.volume_id == copy.volume_id else c for c in copies)
