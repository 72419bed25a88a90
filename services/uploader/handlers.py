"""The uploader's subscribers: chunks, finished and failed dumps and deletions on its work
queue; volume tests and free space on its query queue (RPC)."""

from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage

from services.uploader.adapters.db import UploadRepository
from services.uploader.adapters.volumes import VolumeOpener
from services.uploader.assembly import Assembler
from services.uploader.settings import UploaderSettings
from services.uploader.volume_admin import answer_query, delete_snapshot
from shared.events import (
    ChunkStaged,
    DumpFailed,
    DumpFinished,
    Event,
    SnapshotDeleteRequested,
)
from shared.logging import get_logger
from shared.messaging import publish_event
from shared.queries import QueryRefused, Reply
from shared.sealing import Sealer
from shared.service import Runtime
from shared.staging import open_staging
from shared.topology import Topology

log = get_logger(__name__)


def register(
    broker: RabbitBroker, topology: Topology, runtime: Runtime, settings: UploaderSettings
) -> None:
    """Attach the uploader's subscriber to `broker`."""
    staging = open_staging(settings.staging)
    volumes = VolumeOpener(Sealer(settings.seal.key), outbound=settings.outbound.policy())

    async def publish(event: Event) -> None:
        await publish_event(broker, topology, event)

    def assembler() -> Assembler:
        return Assembler(
            uploads=UploadRepository(runtime.pool, settings.schema_name),
            staging=staging,
            volumes=volumes,
            publish=publish,
            temp_grace=settings.temp_grace,
        )

    @broker.subscriber(
        topology.queue("uploader"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # Several messages in hand at once, so chunks upload concurrently.
        channel=Channel(prefetch_count=settings.prefetch),
        title="uploader.events",
        description="ChunkStaged, DumpFinished and DumpFailed: chunks into volumes; "
        "SnapshotDeleteRequested: a snapshot's artifact and manifest removed.",
    )
    async def on_event(body: dict[str, Any], message: RabbitMessage) -> None:
        routing_key = message.raw_message.routing_key
        if routing_key == ChunkStaged.routing_key:
            await assembler().chunk_staged(ChunkStaged.model_validate(body))
        elif routing_key == DumpFinished.routing_key:
            await assembler().dump_finished(DumpFinished.model_validate(body))
        elif routing_key == DumpFailed.routing_key:
            await assembler().dump_failed(DumpFailed.model_validate(body))
        elif routing_key == SnapshotDeleteRequested.routing_key:
            await delete_snapshot(volumes, SnapshotDeleteRequested.model_validate(body), publish)
        else:
            log.warning("event_ignored", routing_key=routing_key)

    @broker.subscriber(
        topology.uploader_queries,
        ack_policy=AckPolicy.ACK,
        title="uploader.queries",
        description="Request/reply: test a volume (write, read, delete a probe), its free space.",
    )
    async def on_query(body: dict[str, Any]) -> Reply | QueryRefused:
        try:
            return await answer_query(volumes, body)
        except Exception:  # the asker gets a sentence, not a timeout
            log.exception("query_failed")
            return QueryRefused(error="the uploader failed to answer this query")
