"""Temporaries a crash leaves in a local volume, and the sweep that removes them."""

import contextlib
import os
import time
from pathlib import Path

TEMP_MARK = ".tmp-"
"""Files are written as `<name>.tmp-<hex>`, then renamed to `<name>`: a crash in between
leaves the temporary behind."""
PARTS_DIR = ".parts"


def sweep_temporaries(root: Path, older_than: float, keep: set[str]) -> int:
    """Remove every `<key>.tmp-*` under `root` older than `older_than` seconds whose `<key>`
    is not in `keep`; part folders are left to their uploads. How many went.

    Age alone is no proof: hashing a big artifact before its rename leaves the temporary
    untouched for a long time, so the keys of assemblies that may still run are kept.
    """
    cutoff = time.time() - older_than
    removed = 0
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root and PARTS_DIR in dirs:
            dirs.remove(PARTS_DIR)
        for name in files:
            final, mark, _ = name.rpartition(TEMP_MARK)
            if not mark or not final:
                continue
            path = here / name
            if (here / final).relative_to(root).as_posix() in keep:
                continue
            with contextlib.suppress(FileNotFoundError):  # renamed or swept meanwhile
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed
