"""The committed AsyncAPI documents (docs/asyncapi/) match what FastStream generates, and
every message in them has a typed payload."""

import json
from pathlib import Path
from typing import Any

import pytest

from services.asyncapi import (
    SERVICES,
    document,
    message_payloads,
    published_events,
    render,
    undocumented_events,
)
from shared.events import ALL_EVENTS, EVENTS_BY_KEY
from shared.topology import CONSUMED_KEYS, NOTIFICATIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"

CONSUMING_CHANNEL = {
    "dumper": ("dumper", "dumper.work"),
    "uploader": ("uploader", "uploader.events"),
    "catalog": ("catalog", "catalog.events"),
    NOTIFICATIONS: ("api", "api.notifications"),
}
"""Each queue of shared/topology.CONSUMED_KEYS: the service reading it, and its channel."""


def committed(service: str) -> dict[str, Any]:
    return json.loads((DOCS / f"{service}.json").read_text())


def bare_payloads(doc: dict[str, Any]) -> list[str]:
    """The messages whose payload (or one of its alternatives) names no field at all."""
    schemas = doc["components"]["schemas"]

    def typed(node: dict[str, Any]) -> bool:
        if "$ref" in node:
            return typed(schemas[node["$ref"].rsplit("/", 1)[-1]])
        for union in ("oneOf", "anyOf"):
            if union in node:
                return bool(node[union]) and all(typed(item) for item in node[union])
        return bool(node.get("properties"))

    return sorted(
        name
        for name, message in doc["components"]["messages"].items()
        if not typed(message["payload"])
    )


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

    def test_each_event_has_one_publishing_service(self):
        publishers = {
            event.__name__: [s for s in SERVICES if event.__name__ in published_events(s)]
            for event in ALL_EVENTS
        }
        assert {name: len(found) for name, found in publishers.items()} == dict.fromkeys(
            publishers, 1
        )

    @pytest.mark.parametrize("queue", sorted(CONSUMING_CHANNEL))
    def test_each_queue_has_a_typed_handler_per_event_it_is_bound_to(self, queue):
        service, channel = CONSUMING_CHANNEL[queue]
        received = message_payloads(document(service), "receive")[channel]
        keys = CONSUMED_KEYS[queue]
        expected = (
            [event.__name__ for event in ALL_EVENTS]
            if keys == ("#",)
            else [EVENTS_BY_KEY[key].__name__ for key in keys]
        )
        assert sorted(received) == sorted(expected)

    @pytest.mark.parametrize("service", SERVICES)
    def test_each_published_event_has_its_payload_schema(self, service):
        doc = document(service)
        schemas = doc["components"]["schemas"]
        for event in ALL_EVENTS:
            if event.__name__ not in published_events(service):
                continue
            channel = doc["channels"][event.routing_key]
            assert channel["description"] == (event.__doc__ or "").strip()
            assert set(event.model_fields) <= set(schemas[event.__name__]["properties"])

    @pytest.mark.parametrize("service", SERVICES)
    def test_every_event_schema_has_all_its_fields(self, service):
        """FastStream drops a payload's field named like an injected parameter (`message`)."""
        schemas = committed(service)["components"]["schemas"]
        for event in ALL_EVENTS:
            if event.__name__ in schemas:
                assert set(schemas[event.__name__]["properties"]) == set(event.model_fields)

    @pytest.mark.parametrize("service", SERVICES)
    def test_no_message_has_a_bare_object_for_its_payload(self, service):
        assert bare_payloads(committed(service)) == []

    def test_documents_carry_no_broker_credentials(self):
        text = "".join(render(service) for service in SERVICES)
        assert "guest" not in text
        assert json.loads(render("api"))["servers"]
