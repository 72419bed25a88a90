"""A crash during assembly leaves no `.tmp-*` file in a local volume once the next sweep runs."""

import os
import time
from pathlib import Path

import pytest

from services.uploader.settings import UploaderSettings
from tests.integration.uploader.conftest import wait_until
from tests.integration.uploader.test_uploader import local_spec, new_attempt

pytestmark = pytest.mark.integration

GRACE = 30.0


@pytest.fixture
def uploader_settings(uploader_settings: UploaderSettings) -> UploaderSettings:
    return uploader_settings.model_copy(update={"temp_grace": GRACE})


def left_by_a_crash(volume: Path, key: str, *, age: float) -> Path:
    """The temporary an assembly writes before its rename, as a killed uploader leaves it."""
    path = volume / f"{key}.tmp-{os.urandom(16).hex()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x1f\x8b half an artifact")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


class TestTemporariesSweep:
    async def test_the_next_stored_backup_sweeps_stale_temporaries_only(
        self, uploader, tmp_path: Path
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        crashed = left_by_a_crash(volume, "prod-db/shop/old.sql.gz", age=4 * GRACE)
        crashed_manifest = left_by_a_crash(
            volume, "prod-db/shop/old.sql.gz.manifest.json", age=4 * GRACE
        )
        fresh = left_by_a_crash(volume, "prod-db/shop/new.sql.gz", age=0)
        # Another backup still assembling on this volume (its upload is open): its
        # temporary stays however old it looks.
        running = await new_attempt(uploader, local_spec(volume), (1000,))
        await uploader.publish(running.chunks[0])
        await uploader.next_event("chunk.stored", attempt_id=running.attempt_id)
        assembling = left_by_a_crash(volume, running.destination.artifact_key, age=4 * GRACE)

        attempt = await new_attempt(uploader, local_spec(volume), (2000, 500))
        await uploader.publish(*attempt.chunks, attempt.finished())
        stored = await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)

        async def swept() -> bool:
            return not crashed.exists() and not crashed_manifest.exists()

        await wait_until(swept)
        assert fresh.exists()
        assert assembling.exists()
        assert (volume / stored["path"]).read_bytes() == attempt.artifact
        leftovers = sorted(p.name for p in volume.rglob("*.tmp-*"))
        assert leftovers == sorted([fresh.name, assembling.name])
