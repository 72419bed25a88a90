"""The snapshot detail: the record plus progress, duration, manifest and timeline. Pure."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.catalog.snapshots.model import SnapshotRecord

QUIET_EVENTS = ("DumpProgressed", "ChunkStaged", "ChunkStored", "RestoreProgressed")
"""Per-second and per-chunk events: the record's progress sums them up, the timeline skips
them so it stays short for a backup of any size."""
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    """One recorded event of a snapshot, as stored in the catalog's snapshot_events."""

    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


def duration_seconds(record: SnapshotRecord) -> float | None:
    """From the tool's start to the end, once both are known."""
    if record.started_at is None or record.finished_at is None:
        return None
    return round(max((record.finished_at - record.started_at).total_seconds(), 0.0), 3)


def snapshot_detail(
    record: SnapshotRecord,
    timeline: Iterable[TimelineEntry],
    restores: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The get_snapshot answer: the public record and everything that explains it, its
    restores (newest first) and its last verify."""
    return record.public() | {
        "progress": {
            "bytes_dumped": record.bytes_dumped,
            "bytes_compressed": record.bytes_compressed,
            "chunks_staged": record.chunks_staged,
        },
        "duration_seconds": duration_seconds(record),
        "manifest_path": record.manifest_path,
        "manifest": record.manifest,
        "timeline": [
            {
                "event_type": entry.event_type,
                "occurred_at": entry.occurred_at.isoformat(),
                "summary": summarise(entry.event_type, entry.payload),
            }
            for entry in timeline
        ],
        "restores": list(restores),
        "verified_at": None if record.verified_at is None else record.verified_at.isoformat(),
        "verify_result": record.verify_result,
    }


def summarise(event_type: str, payload: dict[str, Any]) -> str:
    """One sentence about an event, from its payload (never a secret: they travel sealed)."""
    describe = _SUMMARIES.get(event_type)
    if describe is None:
        return event_type
    try:
        return describe(payload)
    except (KeyError, TypeError, ValueError):
        return event_type


def _requested(p: dict[str, Any]) -> str:
    return f"backup of {p['database']} on {p['server_name']} requested"


def _started(p: dict[str, Any]) -> str:
    return f"{p['tool_version']} started (attempt {p['attempt']}, server {p['server_version']})"


def _finished(p: dict[str, Any]) -> str:
    return (
        f"dump finished: {p['raw_size']} bytes dumped, {p['chunk_count']} chunks, "
        f"{p['size']} bytes compressed"
    )


def _stored(p: dict[str, Any]) -> str:
    return f"stored as {p['path']} ({p['size']} bytes)"


def _restore_requested(p: dict[str, Any]) -> str:
    if p["mode"] == "verify":
        return f"verify requested (scratch database {p['database']})"
    overwrite = ", overwriting it" if p.get("overwrite") else ""
    return f"restore into {p['database']} requested{overwrite}"


def _restore_finished(p: dict[str, Any]) -> str:
    if p["mode"] != "verify":
        return f"restore finished: {p['bytes_restored']} bytes restored"
    if p.get("verify_ok"):
        return "verify passed: every table's row count matches the manifest"
    tables = ", ".join(d["table"] for d in p.get("table_differences") or [])
    return f"verify failed: row counts differ in {tables}"


def _status(p: dict[str, Any]) -> str:
    error = p.get("error")
    return f"status became {p['status']}" + (f": {error}" if error else "")


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "BackupRequested": _requested,
    "DumpStarted": _started,
    "DumpFinished": _finished,
    "DumpFailed": lambda p: f"dump failed: {p['reason']}",
    "BackupStored": _stored,
    "UploadFailed": lambda p: f"upload failed: {p['reason']}",
    "SnapshotCancelRequested": lambda p: f"cancel requested ({p['reason']})",
    "SnapshotDeleteRequested": lambda _: "delete requested",
    "SnapshotDeleted": lambda _: "artifact and manifest deleted",
    "SnapshotDeleteFailed": lambda p: f"delete failed: {p['reason']}",
    "SnapshotStatusChanged": _status,
    "SnapshotWarned": lambda p: f"warning: {p['message']}",  # a failed hook
    "RestoreRequested": _restore_requested,
    "RestoreStarted": lambda p: f"restore started with {p['tool_version']}",
    "RestoreFinished": _restore_finished,
    "RestoreFailed": lambda p: f"{p['mode']} failed: {p['reason']}",
}
