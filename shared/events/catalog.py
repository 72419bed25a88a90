"""Events the catalog publishes."""

from typing import ClassVar

from pydantic import Field

from shared.events._base import (
    Event,
    SnapshotStatus,
)


class SnapshotStatusChanged(Event):
    """Published by the catalog whenever a snapshot's status changes."""

    routing_key: ClassVar[str] = "snapshot.status_changed"

    status: SnapshotStatus = Field(description="The new status.", examples=["completed"])
    error: str | None = Field(default=None, description="The reason, when failed.")
