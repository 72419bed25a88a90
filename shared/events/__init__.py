"""The event contracts of DESIGN.md: every message that crosses the broker.

Each event is a frozen pydantic model named in the past tense, carrying the envelope
`event_id`, `snapshot_id`, `occurred_at`, `schema_version`. Its `routing_key` is the topic
it is published under on the events exchange. Credentials travel only inside `Sealed`
strings (see `shared.sealing`). One module per producer (house style rule 5).
"""

from shared.events._base import (
    ArtifactAnchor,
    Compression,
    Destination,
    Encryption,
    Event,
    RestoreMode,
    RestoreSource,
    Sealed,
    ServerType,
    SnapshotStatus,
    TableDifference,
    utc_now,
)
from shared.events.api import (
    BackupRequested,
    KeysRewrapRequested,
    RestoreRequested,
    SnapshotCancelRequested,
    SnapshotDeleteRequested,
    SnapshotLockChanged,
    SnapshotWarned,
)
from shared.events.catalog import SnapshotStatusChanged
from shared.events.dumper import (
    ChunkStaged,
    DumpFailed,
    DumpFinished,
    DumpProgressed,
    DumpStarted,
    KeysRewrapFailed,
    KeysRewrapped,
    RestoreFailed,
    RestoreFinished,
    RestoreProgressed,
    RestoreStarted,
    chunk_key,
)
from shared.events.uploader import (
    BackupStored,
    ChunkStored,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    UploadFailed,
)

__all__ = [
    "ALL_EVENTS",
    "EVENTS_BY_KEY",
    "ArtifactAnchor",
    "BackupRequested",
    "BackupStored",
    "ChunkStaged",
    "ChunkStored",
    "Compression",
    "Destination",
    "DumpFailed",
    "DumpFinished",
    "DumpProgressed",
    "DumpStarted",
    "Encryption",
    "Event",
    "KeysRewrapFailed",
    "KeysRewrapRequested",
    "KeysRewrapped",
    "RestoreFailed",
    "RestoreFinished",
    "RestoreMode",
    "RestoreProgressed",
    "RestoreRequested",
    "RestoreSource",
    "RestoreStarted",
    "Sealed",
    "ServerType",
    "SnapshotCancelRequested",
    "SnapshotDeleteFailed",
    "SnapshotDeleteRequested",
    "SnapshotDeleted",
    "SnapshotLockChanged",
    "SnapshotStatus",
    "SnapshotStatusChanged",
    "SnapshotWarned",
    "TableDifference",
    "UploadFailed",
    "chunk_key",
    "utc_now",
]

ALL_EVENTS: tuple[type[Event], ...] = (
    BackupRequested,
    DumpStarted,
    ChunkStaged,
    DumpProgressed,
    DumpFinished,
    DumpFailed,
    ChunkStored,
    BackupStored,
    UploadFailed,
    SnapshotDeleteRequested,
    SnapshotDeleted,
    SnapshotDeleteFailed,
    SnapshotCancelRequested,
    SnapshotLockChanged,
    RestoreRequested,
    RestoreStarted,
    RestoreProgressed,
    RestoreFinished,
    RestoreFailed,
    SnapshotStatusChanged,
    KeysRewrapRequested,
    KeysRewrapped,
    KeysRewrapFailed,
    SnapshotWarned,
)
EVENTS_BY_KEY: dict[str, type[Event]] = {e.routing_key: e for e in ALL_EVENTS}
