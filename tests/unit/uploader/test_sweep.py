"""After a backup is stored, the volume's stale temporaries are swept; a failed sweep is
only a warning."""

from structlog.testing import capture_logs

from services.uploader.assembly import TEMP_GRACE
from shared.events import BackupStored, UploadFailed
from shared.naming import manifest_key
from shared.volumes import VolumeError
from tests.unit.uploader.test_copies import KEY, World


class TestSweepAfterStore:
    async def test_a_stored_backup_sweeps_its_volume_keeping_open_assemblies(self):
        world = World(None)
        chunk = await world.stage(b"a" * 1000)

        await world.assembler.chunk_staged(chunk)
        await world.assembler.dump_finished(world.finished())

        [(grace, keep)] = world.volume(0).sweeps
        assert grace == TEMP_GRACE
        assert keep == set()  # the only upload is stored now, so nothing is running

    async def test_a_failing_sweep_does_not_fail_the_stored_backup(self):
        world = World(None)
        volume = world.volume(0)

        async def broken_sweep(**_kwargs):
            raise VolumeError("permission denied reading the volume")

        volume.sweep_temporaries = broken_sweep  # type: ignore[method-assign]
        chunk = await world.stage(b"a" * 1000)

        with capture_logs() as logs:
            await world.assembler.chunk_staged(chunk)
            await world.assembler.dump_finished(world.finished())

        assert len(world.published.of(BackupStored)) == 1
        assert not world.published.of(UploadFailed)
        assert any(line["event"] == "temporaries_not_swept" for line in logs)
        assert volume.files[KEY] == b"".join(world.blobs)
        assert manifest_key(KEY) in volume.files
