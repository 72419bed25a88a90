"""A volume that stops answering while the artifact is finalised (found by the fault suite)."""

from shared.events import BackupStored, UploadFailed
from shared.volumes import VolumeUnreachableError
from tests.unit.uploader.fakes import FakeVolume
from tests.unit.uploader.test_copies import KEY, World

UNREACHABLE = VolumeUnreachableError("volume unreachable: s3.local does not answer")


class AnswerLost(FakeVolume):
    """Completes the artifact, but the answer of the first `lost` calls never arrives."""

    def __init__(self, lost: int) -> None:
        super().__init__()
        self.lost = lost
        self.calls = 0

    async def finalise(self, target, parts, *, size, sha256):
        self.calls += 1
        if self.files.get(target.key) is None:
            await super().finalise(target, parts, size=size, sha256=sha256)
        if self.calls <= self.lost:
            raise UNREACHABLE


async def finish(world: World) -> None:
    chunk = await world.stage(b"a" * 1000)
    await world.assembler.chunk_staged(chunk)
    await world.assembler.dump_finished(world.finished())


class TestFinaliseDuringAnOutage:
    async def test_a_lost_answer_is_tried_again_and_the_backup_is_stored(self):
        world = World(None)
        volume = AnswerLost(lost=2)
        world.volumes[world.destinations[0].volume_id] = volume
        world.assembler.finalise_waits = (0.0, 0.0, 0.0)

        await finish(world)

        assert volume.calls == 3
        assert [e.path for e in world.published.of(BackupStored)] == [KEY]
        assert world.published.of(UploadFailed) == []
        assert KEY.replace(".sql.gz", ".manifest.json") in volume.files

    async def test_an_outage_longer_than_the_waits_fails_the_copy_with_the_reason(self):
        world = World(None)
        volume = AnswerLost(lost=10)
        world.volumes[world.destinations[0].volume_id] = volume
        world.assembler.finalise_waits = (0.0, 0.0)

        await finish(world)

        assert volume.calls == 3
        assert world.published.of(BackupStored) == []
        [failed] = world.published.of(UploadFailed)
        assert failed.reason == str(UNREACHABLE)
