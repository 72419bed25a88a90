"""Builders of the events of one snapshot's life, for catalog and api tests."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from shared.events import (
    BackupRequested,
    BackupStored,
    Destination,
    DumpFinished,
    DumpProgressed,
    DumpStarted,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VOLUME = UUID("3a7c9e10-4b2d-4f6e-8a1b-c2d3e4f5a6b7")
"""The volume of `requested` and `stored` unless a test names another (a copy per
volume, so a stored event must name the volume the request asked for)."""


def at(seconds: float, *, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def destination(volume_id: UUID, compression: str = "zstd") -> Destination:
    return Destination(
        volume_id=volume_id,
        volume="sealed",
        artifact_key="prod/shop/x.sql.gz",
        compression=compression,  # type: ignore[arg-type]
    )


def requested(
    sid: UUID, volume_id: UUID | None = None, *, server_id: UUID | None = None, t: float = 0
) -> BackupRequested:
    return BackupRequested(
        snapshot_id=sid,
        occurred_at=at(t),
        server_id=server_id or uuid4(),
        server_name="prod",
        server_type="postgresql",
        database="shop",
        connection="sealed",
        destination=destination(volume_id or VOLUME),
        requested_at=at(t),
    )


def started(sid: UUID, attempt: UUID, t: float) -> DumpStarted:
    return DumpStarted(
        snapshot_id=sid,
        occurred_at=at(t),
        attempt_id=attempt,
        attempt=1,
        tool="pg_dump",
        tool_version="15",
        server_version="15",
    )


def progressed(sid: UUID, attempt: UUID, t: float, dumped: int) -> DumpProgressed:
    return DumpProgressed(
        snapshot_id=sid,
        occurred_at=at(t),
        attempt_id=attempt,
        bytes_dumped=dumped,
        bytes_compressed=dumped // 4,
        chunks_staged=0,
    )


def finished(sid: UUID, attempt: UUID, t: float, raw_size: int) -> DumpFinished:
    return DumpFinished(
        snapshot_id=sid,
        occurred_at=at(t),
        attempt_id=attempt,
        chunk_count=1,
        raw_size=raw_size,
        size=100,
        sha256="00",
        tool="pg_dump",
        tool_version="15",
        server_version="15",
        destination=destination(uuid4()),
        started_at=at(1),
    )


STORED_MANIFEST = {
    "format": 1,
    "compression": "gzip",
    "size": 123,
    "sha256": "ab" * 32,
    "tool": "pg_dump",
    "chunks": [{"seq": 0, "offset": 0, "size": 123, "sha256": "cd" * 32}],
}
"""A manifest that adds up to what `stored` reports: restores and verifies need one."""


def stored(
    sid: UUID,
    attempt: UUID,
    t: float,
    *,
    volume_id: UUID = VOLUME,
    manifest: dict[str, Any] | None = None,
) -> BackupStored:
    return BackupStored(
        snapshot_id=sid,
        occurred_at=at(t),
        attempt_id=attempt,
        volume_id=volume_id,
        path="prod/shop/x.sql.gz",
        manifest_path="prod/shop/x.manifest.json",
        size=123,
        sha256="ab" * 32,
        manifest=manifest,
    )
