"""Warnings on a snapshot (SnapshotWarned): kept beside the record, never a status."""

from typing import Any
from uuid import UUID

from services.catalog.snapshots.adapters import marks as db
from shared.database import Conn
from shared.events import SnapshotWarned


def warning_of(event: SnapshotWarned) -> dict[str, Any]:
    """The stored (and shown) form of a warning. Pure."""
    return {
        "source": event.source,
        "message": event.message,
        "exit_code": event.exit_code,
        "restore_id": None if event.restore_id is None else str(event.restore_id),
        "occurred_at": event.occurred_at.isoformat(),
        "event_id": str(event.event_id),
    }


async def add_warning(conn: Conn, schema: str, event: SnapshotWarned) -> None:
    """Append the warning; called once per event (inside the catalog's handle_once)."""
    await db.add_warning(conn, schema, event.snapshot_id, warning_of(event))


async def snapshot_warnings(conn: Conn, schema: str, snapshot_id: UUID) -> list[dict[str, Any]]:
    return await db.warnings(conn, schema, snapshot_id)
