"""The assembler with several volumes: each copy's fate is its own."""

import gzip
import hashlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.uploader.assembly import Assembler, every_destination
from shared.events import (
    BackupStored,
    ChunkStaged,
    ChunkStored,
    Destination,
    DumpFailed,
    DumpFinished,
    UploadFailed,
    chunk_key,
)
from shared.staging import attempt_prefix
from shared.volumes import VolumeMissingError
from tests.unit.uploader.fakes import FakeStaging, FakeUploads, FakeVolume, FakeVolumes, Published

KEY = "prod/shop/20261125T030000Z_x.sql.gz"


class World:
    """An assembler over fakes, with a primary volume and `copies` more."""

    def __init__(self, *broken: VolumeMissingError | None) -> None:
        self.snapshot_id, self.attempt_id = uuid4(), uuid4()
        self.destinations = [
            Destination(volume_id=uuid4(), volume="sealed", artifact_key=KEY, compression="gzip")
            for _ in broken
        ]
        self.volumes = {
            d.volume_id: FakeVolume(fault)
            for d, fault in zip(self.destinations, broken, strict=True)
        }
        self.staging = FakeStaging()
        self.uploads = FakeUploads()
        self.published = Published()
        self.assembler = Assembler(
            uploads=self.uploads,
            staging=self.staging,
            volumes=FakeVolumes(self.volumes),
            publish=self.published,
        )
        self.blobs: list[bytes] = []

    @property
    def routing(self) -> dict:
        return {"destination": self.destinations[0], "copies": self.destinations[1:]}

    async def stage(self, data: bytes) -> ChunkStaged:
        seq = len(self.blobs)
        blob = gzip.compress(data)
        self.blobs.append(blob)
        key = chunk_key(self.snapshot_id, self.attempt_id, seq)
        await self.staging.put(key, blob)
        return ChunkStaged(
            snapshot_id=self.snapshot_id,
            attempt_id=self.attempt_id,
            seq=seq,
            raw_size=len(data),
            size=len(blob),
            sha256=hashlib.sha256(blob).hexdigest(),
            staged_key=key,
            **self.routing,
        )

    def finished(self) -> DumpFinished:
        artifact = b"".join(self.blobs)
        return DumpFinished(
            snapshot_id=self.snapshot_id,
            attempt_id=self.attempt_id,
            chunk_count=len(self.blobs),
            raw_size=1,
            size=len(artifact),
            sha256=hashlib.sha256(artifact).hexdigest(),
            tool="pg_dump",
            tool_version="pg_dump 15",
            server_version="15",
            started_at=datetime.now(UTC),
            **self.routing,
        )

    async def staged(self) -> int:
        return await self.staging.count(attempt_prefix(self.snapshot_id))

    def volume(self, index: int) -> FakeVolume:
        return self.volumes[self.destinations[index].volume_id]


MISSING = VolumeMissingError("bucket offsite does not exist on s3.local")


class TestEveryCopyIsStored:
    async def test_each_volume_gets_the_artifact_and_its_own_backup_stored(self):
        world = World(None, None, None)
        chunks = [await world.stage(b"a" * 1000), await world.stage(b"b" * 500)]

        await world.assembler.chunk_staged(chunks[1])
        await world.assembler.dump_finished(world.finished())
        await world.assembler.chunk_staged(chunks[0])

        stored = world.published.of(BackupStored)
        assert [e.volume_id for e in stored] == [d.volume_id for d in world.destinations]
        for index in range(3):
            assert world.volume(index).files[KEY] == b"".join(world.blobs)
        assert len(world.published.of(ChunkStored)) == 6
        assert await world.staged() == 0

    async def test_a_staged_chunk_stays_until_every_copy_has_it(self):
        """An unexpected error on the copy: the chunk stays staged for the redelivery."""
        world = World(None, None)
        chunk = await world.stage(b"x" * 100)
        world.volume(1).broken = RuntimeError("the process died here")
        with pytest.raises(RuntimeError):
            await world.assembler.chunk_staged(chunk)
        assert await world.staged() == 1

        world.volume(1).broken = None
        await world.assembler.chunk_staged(chunk)  # the redelivery

        assert await world.staged() == 0
        stored = [e.volume_id for e in world.published.of(ChunkStored)]
        assert stored == [d.volume_id for d in world.destinations]  # the primary's only once

    async def test_the_same_volume_twice_is_one_copy(self):
        world = World(None)
        chunk = await world.stage(b"x")
        doubled = chunk.model_copy(update={"copies": [world.destinations[0]]})
        assert every_destination(doubled) == [world.destinations[0]]


class TestOneCopyFails:
    async def test_a_missing_bucket_fails_only_its_copy(self):
        world = World(None, MISSING)
        chunks = [await world.stage(b"a" * 1000), await world.stage(b"b" * 500)]

        for event in (chunks[0], world.finished(), chunks[1]):
            await (
                world.assembler.chunk_staged(event)
                if isinstance(event, ChunkStaged)
                else world.assembler.dump_finished(event)
            )

        [failed] = world.published.of(UploadFailed)
        assert failed.volume_id == world.destinations[1].volume_id
        assert failed.reason == "bucket offsite does not exist on s3.local"
        [stored] = world.published.of(BackupStored)
        assert stored.volume_id == world.destinations[0].volume_id
        assert world.volume(0).files[KEY] == b"".join(world.blobs)
        assert await world.staged() == 0

    async def test_the_primary_failing_leaves_the_copy(self):
        world = World(MISSING, None)
        chunk = await world.stage(b"a" * 1000)

        await world.assembler.chunk_staged(chunk)
        await world.assembler.dump_finished(world.finished())

        assert [e.volume_id for e in world.published.of(UploadFailed)] == [
            world.destinations[0].volume_id
        ]
        assert [e.volume_id for e in world.published.of(BackupStored)] == [
            world.destinations[1].volume_id
        ]

    async def test_a_copy_failing_mid_way_keeps_the_chunks_the_other_needs(self):
        world = World(None, None)
        chunks = [await world.stage(b"a" * 100), await world.stage(b"b" * 100)]
        await world.assembler.chunk_staged(chunks[0])
        world.volume(1).broken = VolumeMissingError("volume directory /srv/b does not exist")

        await world.assembler.chunk_staged(chunks[1])

        [failed] = world.published.of(UploadFailed)
        assert failed.volume_id == world.destinations[1].volume_id
        assert world.volume(1).aborted == [world.attempt_id]
        assert world.published.of(BackupStored) == []
        await world.assembler.dump_finished(world.finished())
        [stored] = world.published.of(BackupStored)
        assert stored.volume_id == world.destinations[0].volume_id
        assert await world.staged() == 0

    async def test_every_copy_failing_drops_the_staged_chunks(self):
        world = World(MISSING, MISSING)
        chunk = await world.stage(b"a")
        await world.stage(b"b")  # staged, not yet announced

        await world.assembler.chunk_staged(chunk)

        assert len(world.published.of(UploadFailed)) == 2
        assert await world.staged() == 0


class TestDumpFailed:
    async def test_aborts_every_copy_and_drops_the_chunks(self):
        world = World(None, None)
        chunk = await world.stage(b"a")
        await world.stage(b"b")
        await world.assembler.chunk_staged(chunk)

        await world.assembler.dump_failed(
            DumpFailed(
                snapshot_id=world.snapshot_id,
                attempt_id=world.attempt_id,
                reason="pg_dump exited with code 1",
                **world.routing,
            )
        )

        assert world.volume(0).aborted == [world.attempt_id]
        assert world.volume(1).aborted == [world.attempt_id]
        assert world.volume(0).parts == {}
        assert world.volume(1).parts == {}
        assert await world.staged() == 0
        assert world.published.of(UploadFailed) == []

    async def test_aborts_an_earlier_attempt_left_open_and_drops_its_chunks(self):
        """A dumper stopped mid-dump left attempt 1 open; its redelivery's attempt 2 failed."""
        world = World(None, None)
        first = world.attempt_id
        await world.assembler.chunk_staged(await world.stage(b"a"))
        world.attempt_id, world.blobs = uuid4(), []
        await world.stage(b"b")

        await world.assembler.dump_failed(
            DumpFailed(
                snapshot_id=world.snapshot_id,
                attempt_id=world.attempt_id,
                reason="the staging area is full",
                **world.routing,
            )
        )

        # Attempt 2 never reached a volume; attempt 1's uploads are aborted on both.
        assert world.volume(0).aborted == [first]
        assert world.volume(1).aborted == [first]
        assert world.volume(0).parts == {}
        assert await world.staged() == 0
        assert world.published.of(UploadFailed) == []
