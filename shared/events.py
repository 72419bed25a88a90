"""The event contracts of DESIGN.md: every message that crosses the broker.

Each event is a frozen pydantic model named in the past tense, carrying the envelope
`event_id`, `snapshot_id`, `occurred_at`, `schema_version`. Its `routing_key` is the topic
it is published under on the events exchange. Credentials travel only inside `Sealed`
strings (see `shared.sealing`).
"""

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ServerType = Literal["postgresql", "mysql", "mariadb"]
Compression = Literal["gzip", "zstd"]

Sealed = Annotated[
    str,
    Field(
        description="A Fernet token sealing JSON credentials with the key api, dumper and "
        "uploader share; opaque to every other reader.",
        examples=["gAAAAABm..."],
    ),
]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope every event carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    routing_key: ClassVar[str]

    event_id: UUID = Field(
        default_factory=uuid4,
        description="Unique id of this event; consumers use it to handle a redelivery once.",
        examples=["0b6f3c52-6a3f-4c8e-9d55-2f0d3f7a1c11"],
    )
    snapshot_id: UUID = Field(
        description="The snapshot (or restore) this event is about.",
        examples=["5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d"],
    )
    occurred_at: AwareDatetime = Field(
        default_factory=utc_now,
        description="When the producer observed what the event reports, in UTC.",
        examples=["2026-11-25T03:00:00Z"],
    )
    schema_version: Literal[1] = Field(
        default=1, description="Version of this event's schema.", examples=[1]
    )


class Destination(BaseModel):
    """Where a backup's artifact goes: passed from request to dumper to uploader."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    volume_id: UUID = Field(
        description="The target storage volume.",
        examples=["3a7c9e10-4b2d-4f6e-8a1b-c2d3e4f5a6b7"],  # fixed: the AsyncAPI doc is committed
    )
    volume: Sealed = Field(description="The sealed volume spec: type and config with secrets.")
    artifact_key: str = Field(
        description="Key of the artifact relative to the volume root.",
        examples=["prod-db/shop/20261125T030000Z_5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d.sql.gz"],
    )
    compression: Compression = Field(description="How chunks are compressed.", examples=["gzip"])


class BackupRequested(Event):
    """Published by the api (through its outbox) when a backup of one database is accepted."""

    routing_key: ClassVar[str] = "backup.requested"

    server_id: UUID = Field(
        description="The registered database server.",
        examples=["9d8c7b6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d"],  # fixed: the AsyncAPI doc is committed
    )
    server_name: str = Field(description="Its name, as shown to users.", examples=["prod-db"])
    server_type: ServerType = Field(description="Engine of the server.", examples=["postgresql"])
    database: str = Field(description="The database to dump.", examples=["shop"])
    connection: Sealed = Field(description="Sealed host, port, username and password.")
    destination: Destination = Field(description="Where the artifact is stored.")
    requested_at: AwareDatetime = Field(
        description="When the api accepted the request.", examples=["2026-11-25T03:00:00Z"]
    )


class DumpStarted(Event):
    """Published by the dumper when the dump tool has started for one attempt."""

    routing_key: ClassVar[str] = "dump.started"

    attempt_id: UUID = Field(description="This try at the dump; a redelivery starts a new one.")
    attempt: int = Field(ge=1, description="How many times the request was delivered.")
    tool: str = Field(description="The dump tool run.", examples=["pg_dump"])
    tool_version: str = Field(description="Its version line.", examples=["pg_dump 15.20"])
    server_version: str = Field(description="The database server's version.", examples=["15.20"])


class ChunkStaged(Event):
    """Published by the dumper when one compressed chunk is durable in the staging area."""

    routing_key: ClassVar[str] = "chunk.staged"

    attempt_id: UUID = Field(description="The dump attempt that produced the chunk.")
    seq: int = Field(ge=0, description="Position of the chunk in the artifact.", examples=[0])
    raw_size: int = Field(ge=0, description="Uncompressed bytes.", examples=[33554432])
    size: int = Field(ge=0, description="Compressed bytes as staged.", examples=[8388608])
    sha256: str = Field(description="SHA-256 of the staged bytes.", examples=["ab" * 32])
    staged_key: str = Field(description="Key of the chunk in the staging area.")
    destination: Destination = Field(description="Where the chunk goes.")


class DumpProgressed(Event):
    """Published by the dumper at most once a second while a dump runs; also its heartbeat."""

    routing_key: ClassVar[str] = "dump.progressed"

    attempt_id: UUID = Field(description="The dump attempt.")
    bytes_dumped: int = Field(ge=0, description="Uncompressed bytes read from the tool so far.")
    bytes_compressed: int = Field(ge=0, description="Compressed bytes staged so far.")
    chunks_staged: int = Field(ge=0, description="Chunks staged so far.")


class DumpFinished(Event):
    """Published by the dumper when the tool exited cleanly and every chunk is staged."""

    routing_key: ClassVar[str] = "dump.finished"

    attempt_id: UUID = Field(description="The dump attempt.")
    chunk_count: int = Field(ge=0, description="How many chunks make the artifact.")
    raw_size: int = Field(ge=0, description="Uncompressed bytes of the dump.")
    size: int = Field(ge=0, description="Compressed bytes of the artifact.")
    sha256: str = Field(description="SHA-256 of the whole compressed artifact.")
    tool: str = Field(description="The dump tool run.", examples=["pg_dump"])
    tool_version: str = Field(description="Its version line.", examples=["pg_dump 15.20"])
    server_version: str = Field(description="The database server's version.", examples=["15.20"])
    table_rows: dict[str, int] = Field(
        default_factory=dict,
        description="Rows per table counted in the dump stream itself.",
        examples=[{"public.orders": 1200}],
    )
    destination: Destination = Field(description="Where the artifact goes.")
    started_at: AwareDatetime = Field(description="When the tool started.")


class DumpFailed(Event):
    """Published by the dumper when a dump cannot complete; the snapshot ends failed."""

    routing_key: ClassVar[str] = "dump.failed"

    attempt_id: UUID | None = Field(
        default=None, description="The failed attempt, when the tool had started."
    )
    reason: str = Field(
        description="A sentence a person can act on, with secrets removed.",
        examples=["pg_dump exited with code 1: FATAL: password authentication failed"],
    )
    exit_code: int | None = Field(default=None, description="The tool's exit code, if any.")
    destination: Destination | None = Field(
        default=None, description="Where the artifact would have gone, so parts can be cleaned."
    )


class ChunkStored(Event):
    """Published by the uploader when a staged chunk is durable in the volume as a part."""

    routing_key: ClassVar[str] = "chunk.stored"

    attempt_id: UUID = Field(description="The dump attempt.")
    seq: int = Field(ge=0, description="Position of the chunk.")
    volume_id: UUID = Field(description="The volume it went to.")


class BackupStored(Event):
    """Published by the uploader when the artifact and its manifest are final in the volume."""

    routing_key: ClassVar[str] = "backup.stored"

    attempt_id: UUID = Field(description="The dump attempt that was stored.")
    volume_id: UUID = Field(description="The volume holding the artifact.")
    path: str = Field(description="Key of the artifact relative to the volume root.")
    manifest_path: str = Field(description="Key of the manifest beside it.")
    size: int = Field(ge=0, description="Stored bytes of the artifact.")
    sha256: str = Field(description="SHA-256 of the stored artifact.")
    manifest: dict[str, Any] | None = Field(
        default=None,
        description="The manifest written beside the artifact (sizes, checksums, chunks).",
        examples=[{"format": 1, "compression": "gzip", "chunks": []}],
    )


class UploadFailed(Event):
    """Published by the uploader when an artifact cannot be stored; the snapshot ends failed."""

    routing_key: ClassVar[str] = "upload.failed"

    attempt_id: UUID | None = Field(default=None, description="The dump attempt.")
    volume_id: UUID = Field(description="The volume that refused it.")
    reason: str = Field(
        description="Why, in words: bucket missing, access denied, disk full, unreachable.",
        examples=["volume is full: no space left on /backups"],
    )


class SnapshotDeleteRequested(Event):
    """Published by the api (through its outbox) when a user deletes a snapshot."""

    routing_key: ClassVar[str] = "snapshot.delete_requested"

    volume_id: UUID = Field(description="The volume holding the artifact.")
    volume: Sealed = Field(description="The sealed volume spec, so the uploader can reach it.")
    path: str | None = Field(
        default=None,
        description="Key of the artifact relative to the volume root; None if never stored.",
    )
    manifest_path: str | None = Field(default=None, description="Key of the manifest.")


class SnapshotDeleted(Event):
    """Published by the uploader once a snapshot's artifact and manifest are gone."""

    routing_key: ClassVar[str] = "snapshot.deleted"

    volume_id: UUID = Field(description="The volume the files were removed from.")


class SnapshotDeleteFailed(Event):
    """Published by the uploader when a snapshot's files cannot be removed; it stays listed."""

    routing_key: ClassVar[str] = "snapshot.delete_failed"

    volume_id: UUID = Field(description="The volume that refused.")
    reason: str = Field(
        description="Why, in words.", examples=["volume unreachable: s3.local does not answer"]
    )


class SnapshotCancelRequested(Event):
    """Published by the api when a user cancels a pending or running backup.

    Every dumper replica receives it (each on its own queue); the one running the dump kills
    the tool and publishes DumpFailed("cancelled"); the others remember it, so a request still
    queued is refused when it arrives.
    """

    routing_key: ClassVar[str] = "snapshot.cancel_requested"

    reason: str = Field(default="cancelled", description="Shown as the snapshot's error.")


_EXAMPLE_RESTORE = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"  # fixed: the AsyncAPI doc is committed


class RestoreSource(BaseModel):
    """Where a restore reads the snapshot from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    volume_id: UUID = Field(description="The volume holding the artifact.")
    volume: Sealed = Field(description="The sealed volume spec.")
    artifact_key: str = Field(description="Key of the artifact relative to the volume root.")
    manifest_key: str = Field(description="Key of the manifest beside it.")
    compression: Compression = Field(description="How the artifact is compressed.")


RestoreMode = Literal["restore", "verify"]


class RestoreRequested(Event):
    """Published by the api (through its outbox) when a restore or a verify is accepted.

    `snapshot_id` is the snapshot being restored; `restore_id` names this restore.
    """

    routing_key: ClassVar[str] = "restore.requested"

    restore_id: UUID = Field(description="This restore.", examples=[_EXAMPLE_RESTORE])
    mode: RestoreMode = Field(
        description="restore: into `database`; verify: into a scratch database that is "
        "dropped after the row counts are compared with the manifest.",
        examples=["restore"],
    )
    server_id: UUID = Field(description="The target server.")
    server_type: ServerType = Field(description="Engine of the target server.")
    connection: Sealed = Field(description="Sealed connection to the target server.")
    database: str = Field(description="The target database.", examples=["shop_restored"])
    overwrite: bool = Field(
        default=False, description="Replace an existing target database's content."
    )
    source: RestoreSource = Field(description="Where the snapshot is read from.")
    requested_at: AwareDatetime = Field(description="When the api accepted the request.")


class RestoreStarted(Event):
    """Published by the dumper when it starts writing into the target."""

    routing_key: ClassVar[str] = "restore.started"

    restore_id: UUID = Field(description="The restore.", examples=[_EXAMPLE_RESTORE])
    attempt_id: UUID = Field(description="This try at the restore.")
    tool: str = Field(description="The client tool run.", examples=["psql"])
    tool_version: str = Field(description="Its version line.", examples=["psql 15.20"])
    created_database: bool = Field(description="Whether the restore created the target.")


class RestoreProgressed(Event):
    """Published by the dumper at most once a second while a restore runs."""

    routing_key: ClassVar[str] = "restore.progressed"

    restore_id: UUID = Field(description="The restore.", examples=[_EXAMPLE_RESTORE])
    bytes_read: int = Field(ge=0, description="Compressed bytes of the artifact read so far.")
    bytes_restored: int = Field(ge=0, description="Uncompressed bytes fed to the client.")
    chunks_verified: int = Field(ge=0, description="Chunks whose sha256 matched the manifest.")


class TableDifference(BaseModel):
    """One table whose restored row count differs from the manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str = Field(description="Schema-qualified table name.", examples=["public.orders"])
    expected: int | None = Field(description="Rows in the manifest; None if not listed.")
    actual: int | None = Field(description="Rows restored; None if the table is missing.")


class RestoreFinished(Event):
    """Published by the dumper when a restore (or verify) completed."""

    routing_key: ClassVar[str] = "restore.finished"

    restore_id: UUID = Field(description="The restore.", examples=[_EXAMPLE_RESTORE])
    mode: RestoreMode = Field(description="What was done.", examples=["verify"])
    bytes_restored: int = Field(ge=0, description="Uncompressed bytes fed to the client.")
    verify_ok: bool | None = Field(
        default=None, description="For a verify: whether every table's row count matched."
    )
    table_differences: list[TableDifference] = Field(
        default_factory=list, description="For a verify: the tables that differ."
    )


class RestoreFailed(Event):
    """Published by the dumper when a restore (or verify) cannot complete."""

    routing_key: ClassVar[str] = "restore.failed"

    restore_id: UUID = Field(description="The restore.", examples=[_EXAMPLE_RESTORE])
    mode: RestoreMode = Field(description="What was tried.", examples=["restore"])
    reason: str = Field(
        description="A sentence a person can act on.",
        examples=["artifact corrupt at chunk 3: sha256 does not match the manifest"],
    )
    target_dropped: bool = Field(
        default=False, description="Whether a database the restore had created was dropped."
    )


SnapshotStatus = Literal["pending", "in_progress", "completed", "failed", "deleted"]


class SnapshotStatusChanged(Event):
    """Published by the catalog whenever a snapshot's status changes."""

    routing_key: ClassVar[str] = "snapshot.status_changed"

    status: SnapshotStatus = Field(description="The new status.", examples=["completed"])
    error: str | None = Field(default=None, description="The reason, when failed.")


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
    RestoreRequested,
    RestoreStarted,
    RestoreProgressed,
    RestoreFinished,
    RestoreFailed,
    SnapshotStatusChanged,
)
EVENTS_BY_KEY: dict[str, type[Event]] = {e.routing_key: e for e in ALL_EVENTS}
