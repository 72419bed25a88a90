"""Messages no retry can ever handle are rejected at once, so they dead-letter without requeue.

A body that is not JSON, an event that fails its schema (a missing or unknown field, an
unknown `schema_version`) or a routing key nobody handles fails the same way on every
delivery. Requeueing it would only burn the queue's delivery limit and hold a consumer; it is
rejected instead (basic.reject, requeue=false), so the quorum queue dead-letters it to
`<ns>.<service>.dlq` at once with x-death reason `rejected`, one `event_rejected` log line
says why, and the consumer goes on with the next message: bad input stops at the edges.
"""

import json
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import RejectMessage, SubscriberNotFound
from pydantic import ValidationError

from shared.events import EVENTS_BY_KEY
from shared.logging import get_logger

log = get_logger(__name__)

SUPPORTED_SCHEMA_VERSIONS = (1,)
"""Every event's `schema_version` this code understands (shared/events/_base.py)."""

MAX_LISTED_ERRORS = 5
"""A reason names at most this many invalid fields; the rest are counted."""


class MalformedMessageError(Exception):
    """A message that can never be handled, whatever the number of deliveries."""


REJECTED = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    MalformedMessageError,
    SubscriberNotFound,
)
"""The failures that say "this message is wrong", as opposed to "this attempt failed"."""


def rejection_reason(error: BaseException, body: bytes, *, routing_key: str | None = None) -> str:
    """Why the message was rejected, in a sentence that never repeats a field's value."""
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "the body is not JSON"
    if isinstance(error, SubscriberNotFound):
        return "no handler consumes this routing key"
    version = _schema_version(body)
    if version is not None and version not in SUPPORTED_SCHEMA_VERSIONS:
        return f"unknown schema_version {version!r}"
    if isinstance(error, ValidationError):
        return _validation_reason(error, routing_key)
    return str(error) or type(error).__name__


def _schema_version(body: bytes) -> object | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or "schema_version" not in decoded:
        return None
    version = decoded["schema_version"]
    # Only a number is echoed back: any other value could be something that was not meant
    # for a log line.
    return version if isinstance(version, int) else "(not a number)"


def _validation_reason(error: ValidationError, routing_key: str | None) -> str:
    event_type = EVENTS_BY_KEY.get(routing_key or "")
    title = event_type.__name__ if event_type else error.title
    # A handler's typed parameter fails under the handler's name, each field prefixed by the
    # parameter's; say it as the event's own validation would.
    by_signature = event_type is not None and error.title != event_type.__name__
    problems = []
    # include_input=False: the offending values may be secrets; name the fields only.
    for item in error.errors(include_input=False, include_url=False):
        loc = item["loc"][1:] if by_signature and len(item["loc"]) > 1 else item["loc"]
        # A UUID's parse error quotes the character it choked on: keep the sentence only.
        message = item["msg"].split(",")[0] if item["type"] == "uuid_parsing" else item["msg"]
        problems.append(f"{'.'.join(str(part) for part in loc) or 'body'}: {message}")
    listed = "; ".join(problems[:MAX_LISTED_ERRORS])
    more = len(problems) - MAX_LISTED_ERRORS
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"{title} failed validation: {listed}{suffix}"


def _snapshot_id(body: bytes) -> str | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    value = decoded.get("snapshot_id") if isinstance(decoded, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


class RejectMalformedMiddleware(BaseMiddleware):
    """Turns a malformed message's failure into a reject without requeue, logged once.

    It acts on the way out, so it also sees a body that failed to decode before any handler
    ran. Raising RejectMessage hands the decision to FastStream's acknowledgement middleware,
    the outermost one, which rejects and swallows it: the consumer keeps consuming.
    """

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,  # noqa: ARG002 - the hook's signature
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,  # noqa: ARG002
    ) -> bool | None:
        if exc_val is None or not isinstance(exc_val, REJECTED):
            return False
        raw: Any = self.msg
        body = bytes(getattr(raw, "body", b"") or b"")
        routing_key = getattr(raw, "routing_key", None)
        log.warning(
            "event_rejected",
            reason=rejection_reason(exc_val, body, routing_key=routing_key),
            routing_key=routing_key,
            message_id=getattr(raw, "message_id", None),
            message_type=getattr(raw, "type", None),
            snapshot_id=_snapshot_id(body),
        )
        raise RejectMessage from exc_val
