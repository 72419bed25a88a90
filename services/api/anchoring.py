"""The catalog's record of a snapshot's artifact, as every read of it carries it (restores,
verifies, key rewraps, downloads): shared/anchors.py says what it covers. Pure."""

from typing import Any
from uuid import UUID

from services.api.errors import ConflictError
from shared.anchors import AnchorError, anchor_of
from shared.events import ArtifactAnchor


def anchor_for(
    snapshot_id: UUID, *, manifest: dict[str, Any] | None, sha256: str | None, size: int | None
) -> ArtifactAnchor:
    """The anchor of a completed snapshot; ConflictError (409) when the catalog recorded no
    manifest or checksum for it (stored before they were), which nothing else can replace."""
    try:
        return anchor_of(manifest, sha256=sha256, size=size)
    except AnchorError as exc:
        raise ConflictError(f"snapshot {snapshot_id} cannot be read back: {exc}") from None
