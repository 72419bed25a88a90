"""The snapshot columns beside its status: the configuration that fired it, its lock, its
warnings and the key its stored manifest names (SQL in constants).

None of them is written by the status fold's UPDATE, so the fold and these writes cannot
undo each other.
"""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.database import Conn

# Marks insert a placeholder row when the snapshot is not known yet, like the fold does, so
# they survive any arrival order.
SET_CONFIG = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at, config_id)
VALUES ($1, 'pending', $2, $2, $3)
ON CONFLICT (id) DO UPDATE SET config_id = EXCLUDED.config_id
"""
SET_LOCK = """
INSERT INTO {schema}.snapshots (id, status, created_at, last_event_at, locked, lock_changed_at)
VALUES ($1, 'pending', $2, $2, $3, $2)
ON CONFLICT (id) DO UPDATE SET locked = EXCLUDED.locked, lock_changed_at = EXCLUDED.lock_changed_at
WHERE {schema}.snapshots.lock_changed_at IS NULL
   OR {schema}.snapshots.lock_changed_at <= EXCLUDED.lock_changed_at
"""
# A hook runs after its snapshot ended, so the record exists; the timeline keeps the event
# even for an unknown snapshot.
ADD_WARNING = """
UPDATE {schema}.snapshots SET warnings = warnings || jsonb_build_array($2::jsonb) WHERE id = $1
"""
SELECT_WARNINGS = "SELECT warnings FROM {schema}.snapshots WHERE id = $1"
UPDATE_ENCRYPTION = """
UPDATE {schema}.snapshots SET manifest = jsonb_set(manifest, '{{encryption}}', $2::jsonb)
WHERE id = $1 AND manifest ? 'encryption'
"""


async def set_config(
    conn: Conn, schema: str, snapshot_id: UUID, *, at: datetime, config_id: UUID
) -> None:
    """Mark the snapshot as fired by the configuration `config_id`."""
    await conn.execute(SET_CONFIG.format(schema=schema), snapshot_id, at, config_id)


async def set_lock(
    conn: Conn, schema: str, snapshot_id: UUID, *, at: datetime, locked: bool
) -> None:
    """Lock or unlock the snapshot, unless a later change already landed."""
    await conn.execute(SET_LOCK.format(schema=schema), snapshot_id, at, locked)


async def add_warning(conn: Conn, schema: str, snapshot_id: UUID, warning: dict[str, Any]) -> None:
    """Append one warning to the snapshot's."""
    await conn.execute(ADD_WARNING.format(schema=schema), snapshot_id, json.dumps(warning))


async def warnings(conn: Conn, schema: str, snapshot_id: UUID) -> list[dict[str, Any]]:
    """The snapshot's warnings, oldest first; none for an unknown snapshot."""
    value = await conn.fetchval(SELECT_WARNINGS.format(schema=schema), snapshot_id)
    found = json.loads(value) if isinstance(value, str) else value
    return list(found or [])


async def set_encryption(
    conn: Conn, schema: str, snapshot_id: UUID, encryption: dict[str, Any]
) -> None:
    """Put a new encryption block into the snapshot's stored manifest, if it has one."""
    await conn.execute(UPDATE_ENCRYPTION.format(schema=schema), snapshot_id, json.dumps(encryption))
