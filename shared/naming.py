"""Where a snapshot's artifact and manifest live on a volume (DESIGN.md, "Stored layout")."""

from datetime import UTC, datetime
from uuid import UUID

from shared.events import Compression

EXTENSIONS: dict[str, str] = {"gzip": ".sql.gz", "zstd": ".sql.zst"}
MANIFEST_SUFFIX = ".manifest.json"


def artifact_key(
    *,
    server_name: str,
    database: str,
    requested_at: datetime,
    snapshot_id: UUID,
    compression: Compression,
) -> str:
    """`<server>/<database>/<UTC timestamp>_<snapshot id>.sql.gz` (or `.sql.zst`)."""
    stamp = requested_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}_{snapshot_id}{EXTENSIONS[compression]}"
    return f"{_segment(server_name)}/{_segment(database)}/{name}"


def manifest_key(artifact: str) -> str:
    """The manifest beside an artifact: the same name with `.manifest.json`."""
    for extension in EXTENSIONS.values():
        if artifact.endswith(extension):
            return artifact[: -len(extension)] + MANIFEST_SUFFIX
    return artifact + MANIFEST_SUFFIX


def _segment(name: str) -> str:
    """A name made safe as one path segment: no separators, no dot-only names."""
    cleaned = name.replace("/", "_").replace("\\", "_").strip()
    return cleaned if cleaned not in {"", ".", ".."} else "_"
