"""The catalog's tables, behind typed functions (SQL in module constants)."""

import json

from shared.database import Conn
from shared.events import Event

INSERT_TIMELINE = """
INSERT INTO {schema}.snapshot_events (event_id, snapshot_id, event_type, occurred_at, payload)
VALUES ($1, $2, $3, $4, $5::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""


async def record_timeline(conn: Conn, schema: str, event: Event) -> None:
    """Append `event` to its snapshot's timeline."""
    await conn.execute(
        INSERT_TIMELINE.format(schema=schema),
        event.event_id,
        event.snapshot_id,
        type(event).__name__,
        event.occurred_at,
        json.dumps(event.model_dump(mode="json")),
    )
