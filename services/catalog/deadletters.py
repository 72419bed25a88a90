"""Why a dead-lettered message was given up on, in a sentence for the snapshot's error."""

from typing import Any

from shared.events import EVENTS_BY_KEY


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
