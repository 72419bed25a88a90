"""The sweep of `.tmp-*` files a crash left in a local volume."""

import os
import time
from pathlib import Path

from shared.volumes import LocalVolume

HOUR = 3600.0


def temp(root: Path, key: str, *, age: float) -> Path:
    path = root / f"{key}.tmp-{os.urandom(8).hex()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an artifact")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


class TestSweepTemporaries:
    async def test_a_stale_temporary_goes_and_a_fresh_one_stays(self, tmp_path: Path):
        stale = temp(tmp_path, "srv/db/a.sql.gz", age=2 * HOUR)
        fresh = temp(tmp_path, "srv/db/b.sql.gz", age=1)

        removed = await LocalVolume(tmp_path).sweep_temporaries(older_than=HOUR, keep=set())

        assert removed == 1
        assert not stale.exists()
        assert fresh.exists()

    async def test_a_stale_temporary_of_a_running_assembly_stays(self, tmp_path: Path):
        """Hashing a big artifact before its rename leaves its temporary untouched for long."""
        running = temp(tmp_path, "srv/db/a.sql.gz", age=2 * HOUR)
        manifest = temp(tmp_path, "srv/db/a.sql.gz.manifest.json", age=2 * HOUR)

        removed = await LocalVolume(tmp_path).sweep_temporaries(
            older_than=HOUR, keep={"srv/db/a.sql.gz", "srv/db/a.sql.gz.manifest.json"}
        )

        assert removed == 0
        assert running.exists()
        assert manifest.exists()

    async def test_artifacts_manifests_and_part_folders_are_left_alone(self, tmp_path: Path):
        artifact = tmp_path / "srv/db/a.sql.gz"
        artifact.parent.mkdir(parents=True)
        artifact.write_bytes(b"whole")
        odd = tmp_path / "srv/db/.tmp-only"
        odd.write_bytes(b"not ours")
        part = temp(tmp_path / ".parts" / "s" / "a", "000001.part", age=2 * HOUR)
        for path in (artifact, odd):
            os.utime(path, (0, 0))

        removed = await LocalVolume(tmp_path).sweep_temporaries(older_than=HOUR, keep=set())

        assert removed == 0
        assert artifact.exists()
        assert odd.exists()
        assert part.exists()
