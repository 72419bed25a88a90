"""The opaque keyset cursor of a listing page: where the next page starts.

A cursor is the last shown row's sort key and id, base64url-encoded JSON tagged with its
sort. The catalog makes and reads them; the api makes one too when the first page it shows
mixes in requests the catalog has not recorded yet, so the next page starts after the last
row the client saw.
"""

import base64
import json
from datetime import datetime
from uuid import UUID


def encode_position(sort: str, key: datetime | int, row_id: UUID) -> str:
    """The opaque cursor of the page after the row with this sort key and id."""
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps({"s": sort, "k": value, "i": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
