"""Master-key rotation in the catalog: the stored manifest follows a re-wrapped data key.

The dumper rewrote the manifest on the volume (docs/encryption.md); the catalog's copy of it
gets the same encryption block, so the snapshot's details name the key that now wraps it.
"""

import json

from shared.database import Conn
from shared.events import Event, KeysRewrapped

UPDATE_ENCRYPTION = """
UPDATE {schema}.snapshots SET manifest = jsonb_set(manifest, '{{encryption}}', $2::jsonb)
WHERE id = $1 AND manifest ? 'encryption'
"""


async def record_rewrap(conn: Conn, schema: str, event: Event) -> None:
    """For a KeysRewrapped: put the re-wrapped key into the snapshot's stored manifest (if it
    has one). Any other event: nothing."""
    if not isinstance(event, KeysRewrapped):
        return
    await conn.execute(
        UPDATE_ENCRYPTION.format(schema=schema),
        event.snapshot_id,
        json.dumps(event.encryption.model_dump()),
    )
