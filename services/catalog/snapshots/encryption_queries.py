"""The answer to the encryption request asked over the broker (docs/encryption.md).

Which master key wraps the data key of each completed encrypted snapshot, as its stored
manifest says. After a rotation (`POST /api/v1/encryption/rewrap`), an old key may leave the
keyring once no snapshot is counted under it.
"""

from services.catalog.snapshots.adapters import counts
from shared.database import Conn
from shared.queries import EncryptionKeys, EncryptionKeysReply


async def answer_encryption_query(
    conn: Conn, schema: str, _query: EncryptionKeys
) -> EncryptionKeysReply:
    """Completed encrypted snapshots counted by the master key that wraps their data key."""
    return EncryptionKeysReply(keys=await counts.snapshots_by_key(conn, schema))
