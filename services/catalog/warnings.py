"""Warnings on a snapshot (SnapshotWarned): kept beside the record, never a status."""

import json
from typing import Any
from uuid import UUID

from shared.database import Conn
from shared.events import SnapshotWarned

# A hook runs after its snapshot ended, so the record exists; the timeline keeps the event
# even for an unknown snapshot.
ADD_WARNING = """
UPDATE {schema}.snapshots SET warnings = warnings || jsonb_build_array($2::jsonb) WHERE id = $1
"""
SELECT_WARNINGS = "SELECT warnings FROM {schema}.snapshots WHERE id = $1"


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
    await conn.execute(
        ADD_WARNING.format(schema=schema),
        event.snapshot_id,
        json.dumps(warning_of(event)),
    )


async def snapshot_warnings(conn: Conn, schema: str, snapshot_id: UUID) -> list[dict[str, Any]]:
    value = await conn.fetchval(SELECT_WARNINGS.format(schema=schema), snapshot_id)
    found = json.loads(value) if isinstance(value, str) else value
    return list(found or [])
