"""The sentence a rejected message is logged with."""

import json

import pytest
from faststream.exceptions import SubscriberNotFound
from pydantic import ValidationError

from shared.events import DumpProgressed
from shared.rejection import rejection_reason


def validation_error(body: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        DumpProgressed.model_validate(body)
    return caught.value


class TestRejectionReason:
    def test_a_body_that_is_not_json_says_so(self):
        error = json.JSONDecodeError("Expecting value", "x", 0)
        assert rejection_reason(error, b"x") == "the body is not JSON"

    def test_an_unknown_schema_version_is_named_before_field_errors(self):
        body = {"schema_version": 3, "snapshot_id": "nope"}
        reason = rejection_reason(validation_error(body), json.dumps(body).encode())
        assert reason == "unknown schema_version 3"

    def test_a_schema_version_that_is_not_a_number_is_not_echoed(self):
        body = {"schema_version": "s3cr3t"}
        reason = rejection_reason(validation_error(body), json.dumps(body).encode())
        assert reason == "unknown schema_version '(not a number)'"
        assert "s3cr3t" not in reason

    def test_fields_are_named_without_their_values(self):
        body = {"snapshot_id": "hunter2", "attempt_id": "x", "occurred_at": "today"}
        reason = rejection_reason(validation_error(body), json.dumps(body).encode())
        assert reason.startswith(
            "DumpProgressed failed validation: snapshot_id: Input should be a valid UUID;"
        )
        assert "bytes_dumped: Field required" in reason
        assert "(and 1 more)" in reason
        assert "hunter2" not in reason
        assert "`h`" not in reason

    def test_a_routing_key_nobody_handles_says_so(self):
        reason = rejection_reason(SubscriberNotFound("no handler"), b"{}")
        assert reason == "no handler consumes this routing key"
