"""Listing snapshots page by page: filters, sort orders and the opaque keyset cursor. Pure.

A cursor is the last row's sort key and id (shared/queries/cursors.py), so a page starts
exactly after the previous one however many records arrive meanwhile (keyset pagination: no
duplicates, no gaps, no OFFSET scans).
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.catalog.snapshots.model import SnapshotRecord
from shared.queries.catalog import SnapshotSort
from shared.queries.cursors import encode_position

Sort = SnapshotSort
NO_SIZE = -1
"""The sort key of a snapshot without a size yet (not completed): before every real size."""

SortKey = datetime | int


class InvalidCursorError(ValueError):
    """The cursor was not made by this catalog for this sort order."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the row with this sort key and id."""

    sort: Sort
    key: SortKey
    id: UUID


def sort_key(record: SnapshotRecord, sort: Sort) -> SortKey:
    """The value a record is ordered by under `sort` (ties broken by id)."""
    if sort.lstrip("-") == "size":
        return NO_SIZE if record.size is None else record.size
    return record.created_at


def descending(sort: Sort) -> bool:
    return sort.startswith("-")


def encode_cursor(record: SnapshotRecord, sort: Sort) -> str:
    """The opaque cursor of the page after `record`."""
    return encode_position(sort, sort_key(record, sort), record.id)


def decode_cursor(cursor: str, sort: Sort) -> Cursor:
    """The position `cursor` names; InvalidCursorError when it is malformed or of another sort."""
    data = _json_of(cursor)
    if data is None:
        raise InvalidCursorError("the cursor is malformed")
    if data.get("s") != sort:
        raise InvalidCursorError("the cursor belongs to another sort order")
    snapshot_id, key = _uuid_of(data.get("i")), _key_of(data.get("k"), sort)
    if snapshot_id is None or key is None:
        raise InvalidCursorError("the cursor is malformed")
    return Cursor(sort=sort, key=key, id=snapshot_id)


def _json_of(cursor: str) -> dict[str, Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _uuid_of(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _key_of(value: object, sort: Sort) -> SortKey | None:
    if sort.lstrip("-") == "size":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    try:
        key = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return key if key.tzinfo is not None else None


def next_cursor(rows: list[SnapshotRecord], *, limit: int, sort: Sort) -> str | None:
    """The cursor after a page, when more rows than `limit` were fetched (limit + 1 asked)."""
    if len(rows) <= limit:
        return None
    return encode_cursor(rows[limit - 1], sort)
