"""/api/v1/dead-letters: see what the workers gave up on, and publish it again."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.api.adapters.dead_letters import DeadLetterQueues
from services.api.deps import Authenticated, on_loop
from services.api.schemas.dead_letters import (
    ConsumingService,
    DeadLetterList,
    DeadLetterPublic,
    ReplayCreate,
    ReplayResult,
)
from shared.logging import get_logger

router = APIRouter(
    prefix="/api/v1/dead-letters", tags=["dead letters"], dependencies=[Authenticated]
)
log = get_logger(__name__)

SERVICES: tuple[ConsumingService, ...] = ("dumper", "uploader", "catalog", "notifications")


def get_dead_letters(request: Request) -> DeadLetterQueues:
    settings = request.app.state.settings
    return DeadLetterQueues(
        settings.broker.url.get_secret_value(), request.app.state.runtime.topology
    )


DeadLetters = Annotated[DeadLetterQueues, Depends(on_loop(get_dead_letters))]


@router.get("")
async def list_dead_letters(
    dead_letters: DeadLetters,
    service: Annotated[
        ConsumingService | None,
        Query(
            description="One consuming service (the api's own is notifications); all when omitted."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Per service.")] = 100,
) -> list[DeadLetterList]:
    """The dead-letter queues: each one's count, and its first `limit` messages described
    (routing key, event type, snapshot, reason, x-death, first death). The messages stay."""
    answer = []
    for name in (service,) if service else SERVICES:
        count, items = await dead_letters.peek(name, limit=limit)
        answer.append(
            DeadLetterList(
                service=name,
                queue=dead_letters.queue_name(name),
                count=count,
                items=[DeadLetterPublic.model_validate(item) for item in items],
            )
        )
    return answer


@router.post("/replay")
async def replay_dead_letters(body: ReplayCreate, dead_letters: DeadLetters) -> ReplayResult:
    """Publish dead letters again to the events exchange under their original routing key,
    then remove them from the DLQ. A consumer that already handled one skips it (event ids)."""
    done = await dead_letters.replay(body.service, body.ids)
    log.info("dead_letters_replayed", service=body.service, count=len(done.replayed))
    return ReplayResult(
        service=body.service,
        replayed=done.replayed,
        unroutable=done.unroutable,
        not_found=done.not_found,
    )
