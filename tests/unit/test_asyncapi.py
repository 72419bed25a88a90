"""The committed AsyncAPI documents (docs/asyncapi/) match what FastStream generates."""

import json
from pathlib import Path

import pytest

from services.asyncapi import PUBLISHED_BY, SERVICES, document, render, undocumented_events

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


class TestAsyncApiDocuments:
    @pytest.mark.parametrize("service", SERVICES)
    def test_committed_document_matches_the_code(self, service):
        committed = DOCS / f"{service}.json"
        assert committed.is_file(), f"{committed} is missing: run `make docs`"
        assert committed.read_text() == render(service), (
            f"{committed} drifted from the code: run `make docs` and commit it"
        )

    def test_every_event_is_published_by_some_service(self):
        assert undocumented_events() == []

    @pytest.mark.parametrize("service", SERVICES)
    def test_each_published_event_has_its_payload_schema(self, service):
        doc = document(service)
        schemas = doc["components"]["schemas"]
        for event in PUBLISHED_BY[service]:
            assert event.__name__ in schemas
            channel = doc["channels"][event.routing_key]
            assert channel["description"] == (event.__doc__ or "").strip()
            assert set(event.model_fields) <= set(schemas[event.__name__]["properties"])

    def test_documents_carry_no_broker_credentials(self):
        text = "".join(render(service) for service in SERVICES)
        assert "guest" not in text
        assert json.loads(render("api"))["servers"]
