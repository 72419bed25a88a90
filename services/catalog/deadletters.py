"""Why a dead-lettered message was given up on, in a sentence for the snapshot's error."""

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import EVENTS_BY_KEY


class DeadLetter(BaseModel):
    """Any message given up on, read for the ids that say whose it was.

    A dead letter may be any event, or a body that failed its own validation: every other
    field is kept as it came, and an id that is missing or not a UUID reads as none.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    snapshot_id: UUID | None = Field(
        default=None,
        description="The snapshot the message was about; it fails with the reason.",
        examples=["0b7c2f8e-3f7a-4c55-9a51-3c1a2f0d9e11"],
    )
    restore_id: UUID | None = Field(
        default=None,
        description="Set on a restore's message: the restore fails, not its snapshot.",
        examples=["5d0f7d1a-2b36-4a0e-8f0e-6c2f9b1d4a77"],
    )

    @model_validator(mode="before")
    @classmethod
    def _unreadable_ids_are_none(cls, body: Any) -> Any:
        if not isinstance(body, dict):
            return {}
        return {**body, **{key: _uuid(body.get(key)) for key in ("snapshot_id", "restore_id")}}


def _uuid(value: Any) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        return None


def dead_letter_reason(
    headers: dict[str, Any], *, namespace: str, delivery_limit: int, message_type: str | None
) -> str:
    """`gave up after N deliveries: <service> could not handle <event type>`.

    The x-death header names the queue the message died in, why, and its routing key. A
    quorum queue dead-letters with reason `delivery_limit` once a message was returned more
    than `delivery_limit` times, i.e. on its (limit + 1)th failed delivery.
    """
    deaths = headers.get("x-death") or [{}]
    death = deaths[0] if isinstance(deaths, list) and deaths else {}
    queue = str(death.get("queue") or headers.get("x-first-death-queue") or "a service")
    service = queue.removeprefix(namespace + ".")
    keys = death.get("routing-keys") or []
    event_type = message_type or "a message"
    if keys and str(keys[0]) in EVENTS_BY_KEY:
        event_type = EVENTS_BY_KEY[str(keys[0])].__name__
    why = str(death.get("reason") or headers.get("x-first-death-reason") or "delivery_limit")
    given_up = (
        f"gave up after {delivery_limit + 1} deliveries"
        if why == "delivery_limit"
        else f"gave up ({why})"
    )
    return f"{given_up}: {service} could not handle {event_type}"
