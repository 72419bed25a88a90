"""A small staging disk that a fault test fills up and frees again.

As root it is a real tmpfs of `size_mb` mounted on a fresh directory, so a full disk is a
real ENOSPC from the kernel. Without root (no mount) it is a plain directory and
`fill()` reports that it cannot fill it; the suite then says the fault was not injected.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FILLER = ".filler"


class StagingDisk:
    """A directory for STAGING_PATH on a filesystem of its own when we may mount one."""

    def __init__(self, size_mb: int = 64) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dbm-staging-"))
        self.path = self.root / "staging"
        self.path.mkdir()
        self.kind = "plain directory (not fillable)"
        if os.geteuid() == 0:
            mounted = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", self.path],
                capture_output=True,
                check=False,
            )
            if mounted.returncode == 0:
                self.kind = f"tmpfs of {size_mb} MiB"
        self.mounted = self.kind.startswith("tmpfs")

    @property
    def filler(self) -> Path:
        return self.path / FILLER

    def fill(self) -> bool:
        """Write a file until the disk is full (ENOSPC). False if it cannot be filled."""
        if not self.mounted:
            return False
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1024 * 1024, 4096, 1):  # big blocks, then the last crumbs
                block = b"\0" * size
                with contextlib.suppress(OSError):
                    while os.write(fd, block):
                        pass
        finally:
            os.close(fd)
        return True

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def leftovers(self) -> list[Path]:
        """Every file left on the disk but the filler: staged chunks nobody took away."""
        return [p for p in self.path.rglob("*") if p.is_file() and p.name != FILLER]

    def remove(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
