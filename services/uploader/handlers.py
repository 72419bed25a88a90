"""The uploader's subscribers: chunks, finished and failed dumps and deletions on its work
queue; volume tests and free space on its query queue (RPC)."""

from typing import Annotated, Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter

from services.uploader.adapters.db import UploadRepository
from services.uploader.adapters.volumes import VolumeOpener
from services.uploader.assembly import Assembler
from services.uploader.settings import UploaderSettings
from services.uploader.volume_admin import answer_query, delete_snapshot
from shared.events import (
    BackupStored,
    ChunkStaged,
    ChunkStored,
    DumpFailed,
    DumpFinished,
    Event,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotDeleteRequested,
    UploadFailed,
)
from shared.logging import get_logger
from shared.messaging import documented_as, routed
from shared.queries import QueryRefused, Reply, UploaderQuery
from shared.sealing import Sealer
from shared.service import Runtime
from shared.staging import open_staging
from shared.topology import Topology

log = get_logger(__name__)

PUBLISHES: tuple[type[Event], ...] = (
    ChunkStored,
    BackupStored,
    UploadFailed,
    SnapshotDeleted,
    SnapshotDeleteFailed,
)
"""The events the uploader publishes, each through its declared publisher."""


def register(
    broker: RabbitBroker, topology: Topology, runtime: Runtime, settings: UploaderSettings
) -> None:
    """Attach the uploader's subscribers to `broker`, on a router of their own."""
    router = RabbitRouter()
    staging = open_staging(settings.staging)
    volumes = VolumeOpener(Sealer(settings.seal.key), outbound=settings.outbound.policy())
    if runtime.publishers is None:
        raise RuntimeError("the uploader's publishers are declared before its subscribers")
    publish = runtime.publishers.publish

    def assembler() -> Assembler:
        return Assembler(
            uploads=UploadRepository(runtime.pool, settings.schema_name),
            staging=staging,
            volumes=volumes,
            publish=publish,
            temp_grace=settings.temp_grace,
        )

    work = router.subscriber(
        topology.queue("uploader"),
        topology.events,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # Several messages in hand at once, so chunks upload concurrently.
        channel=Channel(prefetch_count=settings.prefetch),
        title="uploader.events",
        description="ChunkStaged, DumpFinished and DumpFailed: chunks into volumes; "
        "SnapshotDeleteRequested: a snapshot's artifact and manifest removed.",
    )

    @work(filter=routed(ChunkStaged.routing_key))
    async def on_chunk_staged(event: ChunkStaged) -> None:
        await assembler().chunk_staged(event)

    @work(filter=routed(DumpFinished.routing_key))
    async def on_dump_finished(event: DumpFinished) -> None:
        await assembler().dump_finished(event)

    @work(filter=routed(DumpFailed.routing_key))
    async def on_dump_failed(event: DumpFailed) -> None:
        await assembler().dump_failed(event)

    @work(filter=routed(SnapshotDeleteRequested.routing_key))
    async def on_snapshot_delete_requested(event: SnapshotDeleteRequested) -> None:
        await delete_snapshot(volumes, event, publish)

    @router.subscriber(
        topology.uploader_queries,
        ack_policy=AckPolicy.ACK,
        title="uploader.queries",
        description="Request/reply: test a volume (write, read, delete a probe), its free space.",
    )
    async def on_query(
        body: Annotated[Any, documented_as(UploaderQuery)],
    ) -> Reply | QueryRefused:
        try:
            return await answer_query(volumes, body)
        except Exception:  # the asker gets a sentence, not a timeout
            log.exception("query_failed")
            return QueryRefused(error="the uploader failed to answer this query")

    broker.include_router(router)
