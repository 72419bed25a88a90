"""Master-key rotation (docs/encryption.md): re-wrap every encrypted snapshot's data key.

The api holds no master key. It asks the catalog for every completed encrypted snapshot and
queues one KeysRewrapRequested per stored copy through its outbox; the dumper, which holds
the keyring, re-wraps each data key with its active master key and rewrites the manifest.
"""

from typing import Any
from uuid import UUID

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import VolumeRepository
from services.api.adapters.outbox import Outbox
from services.api.anchoring import anchor_for
from services.api.asking import ask
from services.api.errors import ConflictError
from services.api.keys import Keys
from services.api.schemas.encryption import KeyUsage, RewrapAccepted, RewrapSkipped
from services.api.volumes import volume_spec
from services.api.workers.relay import OutboxRelay
from shared.events import ArtifactAnchor, KeysRewrapRequested
from shared.logging import get_logger
from shared.naming import ENCRYPTED_SUFFIX, manifest_key
from shared.queries import EncryptionKeys, GetSnapshot, ListSnapshots

log = get_logger(__name__)

PAGE = 500


async def completed_snapshots(link: BrokerLink) -> list[dict[str, Any]]:
    """Every completed snapshot the catalog lists, page after page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        reply = await ask(link, ListSnapshots(status="completed", limit=PAGE, cursor=cursor))
        found += reply.snapshots
        cursor = reply.next_cursor
        if not cursor:
            return found


def stored_copies(snapshot: dict[str, Any]) -> dict[str, str]:
    """Volume id -> manifest key of each stored copy of an encrypted snapshot (the primary
    volume's, and every other volume's copy that is stored)."""
    found: dict[str, str] = {}
    listed = [snapshot, *(c for c in snapshot.get("copies") or [] if isinstance(c, dict))]
    for copy in listed:
        volume, path = copy.get("volume_id"), copy.get("path") or snapshot.get("path")
        if copy is not snapshot and copy.get("status") != "stored":
            continue
        if volume and path and str(path).endswith(ENCRYPTED_SUFFIX):
            found.setdefault(str(volume), str(copy.get("manifest_path") or manifest_key(path)))
    return found


async def _anchor(link: BrokerLink, snapshot_id: UUID) -> ArtifactAnchor:
    """The catalog's record of the snapshot's artifact (the listing does not carry the
    manifest): the dumper rewrites no manifest that differs from it."""
    record = (await ask(link, GetSnapshot(snapshot_id=snapshot_id))).snapshot
    return anchor_for(
        snapshot_id,
        manifest=record.get("manifest"),
        sha256=record.get("sha256"),
        size=record.get("size"),
    )


async def rewrap_keys(
    *,
    link: BrokerLink,
    volumes: VolumeRepository,
    outbox: Outbox,
    relay: OutboxRelay,
    keys: Keys,
) -> RewrapAccepted:
    """One KeysRewrapRequested per stored copy of every completed encrypted snapshot; a copy
    whose volume is gone, or whose record cannot be read, is skipped with the reason."""
    requested, concerned, skipped = 0, [], []
    for snapshot in await completed_snapshots(link):
        snapshot_id = UUID(str(snapshot["id"]))
        copies = stored_copies(snapshot)
        if not copies:
            continue
        try:
            anchor = await _anchor(link, snapshot_id)
        except ConflictError as exc:
            skipped.append(RewrapSkipped(snapshot_id=snapshot_id, reason=str(exc)))
            continue
        for volume_id, manifest in copies.items():
            volume = await volumes.get(UUID(volume_id))
            if volume is None:
                reason = f"its volume {volume_id} is no longer registered"
                skipped.append(RewrapSkipped(snapshot_id=snapshot_id, reason=reason))
                continue
            event = KeysRewrapRequested(
                snapshot_id=snapshot_id,
                volume_id=volume.id,
                volume=keys.sealer.seal(volume_spec(volume, vault=keys.vault)),
                manifest_key=manifest,
                anchor=anchor,
            )
            await outbox.add(event)
            requested += 1
            if snapshot_id not in concerned:
                concerned.append(snapshot_id)
    relay.wake()
    log.info("keys_rewrap_requested", copies=requested, skipped=len(skipped))
    return RewrapAccepted(requested=requested, snapshot_ids=concerned, skipped=skipped)


async def key_usage(link: BrokerLink) -> KeyUsage:
    """Completed encrypted snapshots counted by the master key that wraps their data key."""
    return KeyUsage(keys=(await ask(link, EncryptionKeys())).keys)
