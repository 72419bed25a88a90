"""Where a snapshot's artifact and manifest live on a volume (DESIGN.md, "Stored layout")."""

from datetime import UTC, datetime
from uuid import UUID

from shared.events import Compression

EXTENSIONS: dict[str, str] = {"gzip": ".sql.gz", "zstd": ".sql.zst"}
MANIFEST_SUFFIX = ".manifest.json"
ENCRYPTED_SUFFIX = ".enc"


def artifact_key(
    *,
    server_name: str,
    database: str,
    requested_at: datetime,
    snapshot_id: UUID,
    compression: Compression,
    encrypted: bool = False,
) -> str:
    """`<server>/<database>/<UTC timestamp>_<snapshot id>.sql.gz` (or `.sql.zst`).

    An encrypted artifact ends in `.enc` too (`....sql.gz.enc`): it is not a plain gzip file
    until `databasement decrypt` has opened it.
    """
    stamp = requested_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ENCRYPTED_SUFFIX if encrypted else ""
    name = f"{stamp}_{snapshot_id}{EXTENSIONS[compression]}{suffix}"
    return f"{_segment(server_name)}/{_segment(database)}/{name}"


def manifest_key(artifact: str) -> str:
    """The manifest beside an artifact: the same name with `.manifest.json`.

    An encrypted artifact's manifest has the same name as a plain one's.
    """
    artifact = artifact.removesuffix(ENCRYPTED_SUFFIX)
    for extension in EXTENSIONS.values():
        if artifact.endswith(extension):
            return artifact[: -len(extension)] + MANIFEST_SUFFIX
    return artifact + MANIFEST_SUFFIX


def _segment(name: str) -> str:
    """A name made safe as one path segment: no separators, no dot-only names."""
    cleaned = name.replace("/", "_").replace("\\", "_").strip()
    return cleaned if cleaned not in {"", ".", ".."} else "_"
