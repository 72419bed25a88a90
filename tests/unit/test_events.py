"""The event contracts: envelope, immutability, documentation."""

from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.events import ALL_EVENTS, DumpProgressed


class TestEventContracts:
    def test_every_event_carries_the_envelope(self):
        for event_type in ALL_EVENTS:
            fields = event_type.model_fields
            for name in ("event_id", "snapshot_id", "occurred_at", "schema_version"):
                assert name in fields, f"{event_type.__name__} lacks {name}"

    def test_every_field_is_described_for_asyncapi(self):
        for event_type in ALL_EVENTS:
            for name, field in event_type.model_fields.items():
                assert field.description, f"{event_type.__name__}.{name} has no description"

    def test_every_event_has_a_distinct_routing_key(self):
        keys = [event_type.routing_key for event_type in ALL_EVENTS]
        assert len(keys) == len(set(keys))

    def test_events_are_frozen(self):
        event = DumpProgressed(
            snapshot_id=uuid4(),
            attempt_id=uuid4(),
            bytes_dumped=1,
            bytes_compressed=1,
            chunks_staged=0,
        )
        with pytest.raises(ValidationError):
            event.bytes_dumped = 2  # type: ignore[misc]

    def test_unknown_fields_are_refused(self):
        with pytest.raises(ValidationError):
            DumpProgressed.model_validate(
                {
                    "snapshot_id": str(uuid4()),
                    "attempt_id": str(uuid4()),
                    "bytes_dumped": 1,
                    "bytes_compressed": 1,
                    "chunks_staged": 0,
                    "password": "x",
                }
            )

    def test_occurred_at_is_timezone_aware(self):
        event = DumpProgressed(
            snapshot_id=uuid4(),
            attempt_id=uuid4(),
            bytes_dumped=0,
            bytes_compressed=0,
            chunks_staged=0,
        )
        assert event.occurred_at.utcoffset() is not None
