"""Keyset cursors: round trips per sort, refusal of foreign or malformed cursors."""

import base64
import json
from uuid import uuid4

import pytest

from services.catalog.snapshots.listing import (
    NO_SIZE,
    InvalidCursorError,
    decode_cursor,
    encode_cursor,
    next_cursor,
)
from services.catalog.snapshots.model import SnapshotRecord
from tests.support.snapshot_events import at


def record(size: int | None = None, t: float = 0) -> SnapshotRecord:
    return SnapshotRecord(
        id=uuid4(), status="completed", created_at=at(t), last_event_at=at(t), size=size
    )


class TestCursor:
    @pytest.mark.parametrize("sort", ["created_at", "-created_at"])
    def test_a_created_at_cursor_round_trips_the_time_and_id(self, sort):
        row = record(t=12.5)
        cursor = decode_cursor(encode_cursor(row, sort), sort)
        assert (cursor.key, cursor.id, cursor.sort) == (row.created_at, row.id, sort)

    @pytest.mark.parametrize("sort", ["size", "-size"])
    def test_a_size_cursor_round_trips_the_size_and_id(self, sort):
        row = record(size=4096)
        cursor = decode_cursor(encode_cursor(row, sort), sort)
        assert (cursor.key, cursor.id) == (4096, row.id)

    def test_a_snapshot_without_size_sorts_as_no_size(self):
        row = record(size=None)
        assert decode_cursor(encode_cursor(row, "size"), "size").key == NO_SIZE

    def test_the_cursor_is_url_safe_text(self):
        cursor = encode_cursor(record(size=10**12), "-size")
        assert cursor.replace("-", "").replace("_", "").isalnum()

    def test_a_cursor_of_another_sort_is_refused(self):
        cursor = encode_cursor(record(t=1), "-created_at")
        with pytest.raises(InvalidCursorError, match="another sort"):
            decode_cursor(cursor, "created_at")

    @pytest.mark.parametrize(
        "cursor",
        [
            "not base64 !!",
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            base64.urlsafe_b64encode(
                json.dumps({"s": "size", "k": "x", "i": "1"}).encode()
            ).decode(),
            base64.urlsafe_b64encode(
                json.dumps(
                    {"s": "size", "k": True, "i": "5b0e7c1a-0f7e-4a43-9d0c-2f2d1f6f4b11"}
                ).encode()
            ).decode(),
        ],
    )
    def test_a_malformed_cursor_is_refused(self, cursor):
        with pytest.raises(InvalidCursorError):
            decode_cursor(cursor, "size")

    def test_a_naive_time_is_refused(self):
        raw = json.dumps({"s": "created_at", "k": "2026-01-01T00:00:00", "i": str(uuid4())})
        with pytest.raises(InvalidCursorError):
            decode_cursor(base64.urlsafe_b64encode(raw.encode()).decode(), "created_at")


class TestNextCursor:
    def test_no_cursor_when_the_page_is_the_last(self):
        rows = [record(t=i) for i in range(3)]
        assert next_cursor(rows, limit=3, sort="created_at") is None

    def test_the_cursor_points_after_the_last_row_shown(self):
        rows = [record(t=i) for i in range(4)]
        cursor = next_cursor(rows, limit=3, sort="created_at")
        assert cursor is not None
        assert decode_cursor(cursor, "created_at").id == rows[2].id
