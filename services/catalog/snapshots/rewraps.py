"""Master-key rotation in the catalog: the stored manifest follows a re-wrapped data key.

The dumper rewrote the manifest on the volume (docs/encryption.md); the catalog's copy of it
gets the same encryption block, so the snapshot's details name the key that now wraps it.
"""

from services.catalog.snapshots.adapters import marks as db
from shared.database import Conn
from shared.events import Event, KeysRewrapped


async def record_rewrap(conn: Conn, schema: str, event: Event) -> None:
    """For a KeysRewrapped: put the re-wrapped key into the snapshot's stored manifest (if it
    has one). Any other event: nothing."""
    if not isinstance(event, KeysRewrapped):
        return
    await db.set_encryption(conn, schema, event.snapshot_id, event.encryption.model_dump())
