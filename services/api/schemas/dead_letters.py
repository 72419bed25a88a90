"""Bodies of /api/v1/dead-letters."""

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ConsumingService = Literal["dumper", "uploader", "catalog", "notifications"]
"""The services with a work queue, hence a dead-letter queue (shared/topology.py)."""


class Death(BaseModel):
    """One x-death entry: where, why and how often the broker dead-lettered the message."""

    queue: str = Field(examples=["prod.uploader"])
    reason: str = Field(
        description="`rejected` (malformed, refused at once), `delivery_limit` "
        "(failed on every delivery) or `expired`.",
        examples=["delivery_limit"],
    )
    count: int
    time: datetime | None
    exchange: str
    routing_keys: list[str]


class DeadLetterPublic(BaseModel):
    """A dead-lettered message, described without its body (it may carry sealed secrets)."""

    id: str = Field(
        description="The message id (the event id), or `sha256:...` of the body when the "
        "publisher set none; what `replay` takes.",
        examples=["0b6f3c52-6a3f-4c8e-9d55-2f0d3f7a1c11"],
    )
    routing_key: str | None = Field(description="The key it was published with.")
    event_type: str | None = Field(examples=["ChunkStaged"])
    snapshot_id: str | None
    reason: str = Field(description="Why it first died (x-first-death-reason).")
    queue: str = Field(description="The queue it first died in.")
    first_death_at: datetime | None
    deaths: list[Death]
    size: int = Field(description="Body size in bytes.")


class DeadLetterList(BaseModel):
    """One service's dead-letter queue: how many wait there, and the first ones."""

    service: ConsumingService
    queue: str
    count: int = Field(description="Messages in the queue, listed or not.")
    items: list[DeadLetterPublic]


class ReplayCreate(BaseModel):
    """Which dead letters of a service to publish again: some by id, or all of them."""

    model_config = ConfigDict(extra="forbid")

    service: ConsumingService
    ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    all: bool = Field(default=False, description="Replay every dead letter of the service.")

    @model_validator(mode="after")
    def one_choice(self) -> Self:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all=true, not both and not neither")
        return self


class ReplayResult(BaseModel):
    """What a replay did."""

    service: ConsumingService
    replayed: list[str] = Field(description="Ids published again and removed from the DLQ.")
    unroutable: list[str] = Field(
        description="Ids kept in the DLQ: no event type is known for them, or no queue is "
        "bound to their routing key."
    )
    not_found: list[str] = Field(description="Asked-for ids that were not in the DLQ.")
