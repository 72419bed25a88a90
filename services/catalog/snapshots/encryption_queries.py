"""The encryption query asked over the broker (issue 8, docs/encryption.md).

`encryption_keys` -> `{"ok", "keys": {key_id: completed snapshots}}`: which master key wraps
the data key of each completed encrypted snapshot, as its stored manifest says. After a
rotation (`POST /api/v1/encryption/rewrap`), an old key may leave the keyring once no
snapshot is counted under it.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from services.catalog.snapshots.adapters import counts
from shared.database import Conn


class EncryptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    op: Literal["encryption_keys"]


async def answer_encryption_query(
    conn: Conn, schema: str, _query: EncryptionKeys
) -> dict[str, Any]:
    """Completed encrypted snapshots counted by the master key that wraps their data key."""
    return {"ok": True, "keys": await counts.snapshots_by_key(conn, schema)}
