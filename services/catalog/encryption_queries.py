"""The answer to the encryption request asked over the broker (docs/encryption.md).

Which master key wraps the data key of each completed encrypted snapshot, as its stored
manifest says. After a rotation (`POST /api/v1/encryption/rewrap`), an old key may leave the
keyring once no snapshot is counted under it.
"""

from shared.database import Conn
from shared.queries import EncryptionKeys, EncryptionKeysReply

COUNT_BY_KEY = """
SELECT manifest->'encryption'->>'key_id' AS key_id, count(*) AS snapshots
FROM {schema}.snapshots
WHERE status = 'completed' AND manifest ? 'encryption'
GROUP BY 1 ORDER BY 1
"""


async def answer_encryption_query(
    conn: Conn, schema: str, _query: EncryptionKeys
) -> EncryptionKeysReply:
    """Completed encrypted snapshots counted by the master key that wraps their data key."""
    rows = await conn.fetch(COUNT_BY_KEY.format(schema=schema))
    keys = {str(row["key_id"]): int(row["snapshots"]) for row in rows}
    return EncryptionKeysReply(keys=keys)
