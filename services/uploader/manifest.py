"""The manifest written beside every artifact, and the checks that the chunks add up."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.uploader.errors import IncompleteArtifactError
from services.uploader.upload import ChunkRecord
from shared.events import DumpFinished

MANIFEST_FORMAT = 1


def check_complete(chunks: Sequence[ChunkRecord], finished: DumpFinished) -> list[ChunkRecord]:
    """The chunks in order, when they are exactly chunks 0..n-1 adding up to the dump's size."""
    ordered = sorted(chunks, key=lambda c: c.seq)
    seqs = [c.seq for c in ordered]
    if seqs != list(range(finished.chunk_count)):
        missing = sorted(set(range(finished.chunk_count)) - set(seqs))
        raise IncompleteArtifactError(
            f"the dump reported {finished.chunk_count} chunks, but chunks {missing or seqs} "
            "do not fit"
        )
    size = sum(c.size for c in ordered)
    if size != finished.size:
        raise IncompleteArtifactError(
            f"the stored chunks add up to {size} bytes, but the dump reported {finished.size}"
        )
    return ordered


def build_manifest(
    finished: DumpFinished, chunks: Sequence[ChunkRecord], *, created_at: datetime
) -> dict[str, Any]:
    """The manifest JSON (interfaces #7): sizes, checksums, tool versions, the chunk list."""
    listed = []
    offset = 0
    for chunk in sorted(chunks, key=lambda c: c.seq):
        listed.append(
            {
                "seq": chunk.seq,
                "offset": offset,
                "size": chunk.size,
                "raw_size": chunk.raw_size,
                "sha256": chunk.sha256,
            }
        )
        offset += chunk.size
    return {
        "format": MANIFEST_FORMAT,
        "snapshot_id": str(finished.snapshot_id),
        "attempt_id": str(finished.attempt_id),
        "artifact": finished.destination.artifact_key,
        "compression": finished.destination.compression,
        "size": finished.size,
        "raw_size": finished.raw_size,
        "sha256": finished.sha256,
        "tool": finished.tool,
        "tool_version": finished.tool_version,
        "server_version": finished.server_version,
        "created_at": created_at.isoformat(),
        "table_rows": dict(finished.table_rows),
        "chunks": listed,
        # Encryption at rest (docs/encryption.md): the wrapped data key; absent when plain.
        **({"encryption": finished.encryption.model_dump()} if finished.encryption else {}),
    }


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest as the bytes written to the volume."""
    return json.dumps(manifest, indent=2, sort_keys=False).encode() + b"\n"
