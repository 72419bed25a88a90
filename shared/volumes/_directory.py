"""A local volume's own directory: made on first use when its parent exists.

The uploader owns every write to a volume, so it is the one that makes the directory, as
its own user and group with `DIRECTORY_MODE` (the api reads it for downloads: give them the
same user or group). Only the last component is made: a missing parent is more often a share
that is not mounted than a directory nobody made, and backups written under an empty mount
point would fill the wrong disk without a word.
"""

from pathlib import Path

from shared.volumes._base import VolumeMissingError

DIRECTORY_MODE = 0o750
"""Owner rwx, group r-x, others nothing: dumps hold every row of a database."""


def ensure_directory(root: Path) -> bool:
    """Make `root` (mode `DIRECTORY_MODE`) unless it exists; True when this call made it.

    VolumeMissingError with a sentence when its parent is missing too; other OSErrors
    (permission denied, a parent that is a file) propagate for the caller to explain.
    """
    if root.is_dir():
        return False
    if not root.parent.exists():
        raise VolumeMissingError(
            f"volume directory {root} does not exist, nor its parent {root.parent}: create "
            "the parent (or mount its share) first; the uploader makes only the last directory"
        )
    try:
        root.mkdir()
    except FileExistsError:
        if root.is_dir():
            return False  # another replica made it a moment ago
        raise
    root.chmod(DIRECTORY_MODE)  # mkdir's mode is cut by the umask; this one is documented
    return True
