"""Restore one snapshot into a target database for one RestoreRequested delivery.

Every request ends with RestoreFinished or RestoreFailed published; the handler acks after.
Until the restore engine is in place, a request is answered with RestoreFailed saying so.
"""

from services.dumper.ports import Publish
from shared.events import RestoreFailed, RestoreFinished, RestoreRequested
from shared.logging import get_logger

log = get_logger(__name__)

NOT_AVAILABLE = "restores are not available in this version yet"


class Restorer:
    """Runs restores and verifies: reads the artifact, feeds the client tool, tells about it."""

    def __init__(self, *, publish: Publish) -> None:
        self._publish = publish

    async def refuse(self, request: RestoreRequested, reason: str) -> RestoreFailed:
        """Answer a request without touching any target."""
        event = RestoreFailed(
            snapshot_id=request.snapshot_id,
            restore_id=request.restore_id,
            mode=request.mode,
            reason=reason,
        )
        await self._publish(event)
        log.warning("restore_refused", reason=reason)
        return event

    async def restore(self, request: RestoreRequested) -> RestoreFinished | RestoreFailed:
        """One restore (or verify); returns the terminal event it published."""
        return await self.refuse(request, NOT_AVAILABLE)
