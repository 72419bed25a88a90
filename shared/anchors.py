"""The catalog as the trust anchor of a stored artifact (docs/encryption.md). Pure.

When a backup completes, the catalog records the artifact's sha256 and size and the manifest
the uploader wrote. Whoever reads the artifact back (a restore, a verify, a key rewrap, a
download) is handed an `ArtifactAnchor` made from that record and compares the volume's
manifest with it: anyone who can write to a bucket can replace an artifact and recompute its
chunk hashes, or delete a manifest's encryption block, but cannot change the catalog.

The manifest's digest covers what never changes once the backup is stored, and is the same
for every copy of a snapshot (the copies are byte-identical): sizes, checksums, tool, table
rows and the chunk list. It leaves out the artifact's key and the creation time (each copy
has its own) and the encryption block's key id and wrapped key, which a key rewrap rewrites
on the volume; the key id is anchored on its own, and the catalog follows each rewrap. A
forged wrapped key cannot be made without a master key, so it needs no anchor.
"""

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from shared.events import ArtifactAnchor
from shared.naming import ENCRYPTED_SUFFIX

MISMATCH = "artifact does not match the catalog"
MANIFEST_LIMIT = 64 * 1024 * 1024
"""The largest manifest anyone reads: a few hundred bytes per chunk, so about 200,000 chunks
(over a terabyte in 8 MiB chunks). A larger object is refused before it is parsed."""
LASTING_FIELDS = (
    "format",
    "snapshot_id",
    "attempt_id",
    "compression",
    "size",
    "raw_size",
    "sha256",
    "tool",
    "tool_version",
    "server_version",
    "table_rows",
)
CHUNK_FIELDS = ("seq", "offset", "size", "raw_size", "sha256")


class AnchorError(Exception):
    """The catalog's record cannot anchor the artifact; the message is a sentence."""


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest's lasting content, canonically encoded.

    Raises:
        AnchorError: the manifest is not shaped like one (no chunk list of objects).
    """
    try:
        chunks = [{name: chunk.get(name) for name in CHUNK_FIELDS} for chunk in manifest["chunks"]]
        lasting = {name: manifest.get(name) for name in LASTING_FIELDS}
        encryption = manifest.get("encryption")
        lasting["encryption"] = None if encryption is None else encryption.get("algorithm")
    except (KeyError, TypeError, AttributeError):
        raise AnchorError("the manifest has no chunk list") from None
    canonical = json.dumps(
        {"chunks": chunks, **lasting}, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def anchor_of(
    manifest: Mapping[str, Any] | None, *, sha256: str | None, size: int | None
) -> ArtifactAnchor:
    """The anchor of a completed snapshot from what the catalog recorded.

    Raises:
        AnchorError: the catalog has no manifest or no checksum for it (a snapshot stored
            before they were recorded): nothing can vouch for the volume's copy.
    """
    if manifest is None or sha256 is None or size is None:
        raise AnchorError(
            "the catalog holds no checksums of this snapshot's artifact (it was stored "
            "before they were recorded), so nothing can prove the volume's copy is the one "
            "backed up; take a new backup of the database"
        )
    encryption = manifest.get("encryption")
    key_id = encryption.get("key_id") if isinstance(encryption, Mapping) else None
    return ArtifactAnchor(
        sha256=sha256,
        size=size,
        manifest_digest=manifest_digest(manifest),
        encrypted=encryption is not None,
        key_id=None if key_id is None else str(key_id),
    )


def _short(digest: object) -> str:
    text = str(digest)
    return text[:16] + "…" if len(text) > 16 else text


def mismatch(
    anchor: ArtifactAnchor,
    manifest: Mapping[str, Any],
    *,
    artifact_key: str,
    key_ids: Collection[str] | None = None,
) -> str | None:
    """Why the volume's manifest differs from the catalog's record; None when it does not.

    `key_ids` are the master keys the manifest may name (by default the anchor's own; a
    rewrap also accepts the active key, which a redelivery finds already written).
    """
    allowed: set[str | None] = {anchor.key_id} if key_ids is None else set(key_ids)
    reason = (
        _plain_or_sealed(anchor, manifest, artifact_key=artifact_key)
        or _totals(anchor, manifest)
        or _chunk_list(anchor, manifest)
        or _key(anchor, manifest, allowed)
    )
    return None if reason is None else f"{MISMATCH} ({reason})"


def _plain_or_sealed(
    anchor: ArtifactAnchor, manifest: Mapping[str, Any], *, artifact_key: str
) -> str | None:
    encryption = manifest.get("encryption")
    if encryption is None and anchor.encrypted:
        return (
            f"it was stored encrypted with master key {anchor.key_id!r}, but the manifest on "
            "the volume has no encryption block"
        )
    if encryption is None and artifact_key.endswith(ENCRYPTED_SUFFIX):
        return f"an {ENCRYPTED_SUFFIX} artifact whose manifest has no encryption block"
    if encryption is not None and not anchor.encrypted:
        return "it was stored plain, but the manifest on the volume says encrypted"
    return None


def _totals(anchor: ArtifactAnchor, manifest: Mapping[str, Any]) -> str | None:
    if manifest.get("sha256") != anchor.sha256:
        sha256 = _short(manifest.get("sha256"))
        return f"sha256 {sha256} in the manifest on the volume, {_short(anchor.sha256)} recorded"
    if manifest.get("size") != anchor.size:
        size = manifest.get("size")
        return f"size {size} bytes in the manifest on the volume, {anchor.size} recorded"
    return None


def _chunk_list(anchor: ArtifactAnchor, manifest: Mapping[str, Any]) -> str | None:
    try:
        found = manifest_digest(manifest)
    except AnchorError as exc:
        return str(exc)
    if found != anchor.manifest_digest:
        recorded = _short(anchor.manifest_digest)
        return f"sha256 of the chunk list {_short(found)} on the volume, {recorded} recorded"
    return None


def _key(
    anchor: ArtifactAnchor, manifest: Mapping[str, Any], allowed: set[str | None]
) -> str | None:
    if not anchor.encrypted:
        return None
    encryption = manifest.get("encryption")
    named = encryption.get("key_id") if isinstance(encryption, Mapping) else None
    if named in allowed:
        return None
    return f"the manifest names master key {named!r}, the catalog {anchor.key_id!r}"
