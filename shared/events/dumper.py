"""Events the dumper publishes: dumps and restores."""

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from shared.events._base import (
    _EXAMPLE_RESTORE,
    Destination,
    Encryption,
    Event,
    RestoreMode,
    TableDifference,
)


def chunk_key(snapshot_id: UUID, attempt_id: UUID, seq: int) -> str:
    """Where chunk `seq` of one attempt is staged: `<snapshot_id>/<attempt_id>/<seq>.chunk`."""
    return f"{snapshot_id}/{attempt_id}/{seq:06d}.chunk"


class DumpStarted(Event):
    """Published by the dumper when the dump tool has started for one attempt."""

    routing_key: ClassVar[str] = "dump.started"

    attempt_id: UUID = Field(description="This try at the dump; a redelivery starts a new one.")
    attempt: int = Field(ge=1, description="How many times the request was delivered.")
    tool: str = Field(description="The dump tool run.", examples=["pg_dump"])
    tool_version: str = Field(description="Its version line.", examples=["pg_dump 15.20"])
    server_version: str = Field(description="The database server's version.", examples=["15.20"])
    part_size: int | None = Field(
        default=None,
        ge=1,
        description="Compressed bytes every chunk but the last reaches: grown with the expected "
        "size so the artifact fits the volume's part limit.",
        examples=[8388608],
    )


class ChunkStaged(Event):
    """Published by the dumper when one compressed chunk is durable in the staging area."""

    routing_key: ClassVar[str] = "chunk.staged"

    attempt_id: UUID = Field(description="The dump attempt that produced the chunk.")
    seq: int = Field(ge=0, description="Position of the chunk in the artifact.", examples=[0])
    raw_size: int = Field(ge=0, description="Uncompressed bytes.", examples=[33554432])
    size: int = Field(ge=0, description="Compressed bytes as staged.", examples=[8388608])
    sha256: str = Field(description="SHA-256 of the staged bytes.", examples=["ab" * 32])
    staged_key: str = Field(
        description="Key of the chunk in the staging area: always "
        "`<snapshot_id>/<attempt_id>/<seq>.chunk` of this very chunk.",
        examples=[
            "5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d/000000.chunk"
        ],
    )
    destination: Destination = Field(description="Where the chunk goes.")
    copies: list[Destination] = Field(
        default_factory=list, description="Further volumes that get the same artifact."
    )

    @field_validator("staged_key")
    @classmethod
    def _names_this_chunk(cls, key: str, info: ValidationInfo) -> str:
        """Only this chunk's own key: a forged one (`..`, an absolute path, another attempt's
        or snapshot's chunk) would make the uploader read, copy or delete someone else's file.
        The sentence never repeats the key."""
        snapshot_id = info.data.get("snapshot_id")
        attempt_id = info.data.get("attempt_id")
        seq = info.data.get("seq")
        if snapshot_id is None or attempt_id is None or seq is None:
            return key  # those fields failed validation already, and say so
        if key != chunk_key(snapshot_id, attempt_id, seq):
            msg = "must be <snapshot_id>/<attempt_id>/<seq>.chunk of this chunk"
            raise ValueError(msg)
        return key


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
    copies: list[Destination] = Field(
        default_factory=list, description="Further volumes that get the same artifact."
    )
    started_at: AwareDatetime = Field(description="When the tool started.")
    encryption: Encryption | None = Field(
        default=None, description="The wrapped data key, when the chunks are sealed."
    )
    part_size: int | None = Field(
        default=None,
        ge=1,
        description="Compressed bytes every chunk but the last reached.",
        examples=[8388608],
    )


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
    copies: list[Destination] = Field(
        default_factory=list, description="Further volumes that get the same artifact."
    )


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


class KeysRewrapped(Event):
    """Published by the dumper when a copy's manifest holds its data key re-wrapped by the
    active master key (or already did); only the manifest was rewritten."""

    routing_key: ClassVar[str] = "keys.rewrapped"

    volume_id: UUID = Field(description="The volume holding this copy.")
    manifest_key: str = Field(description="Key of the rewritten manifest.")
    previous_key_id: str = Field(description="The master key that wrapped it before.")
    encryption: Encryption = Field(description="The manifest's new encryption block.")


class KeysRewrapFailed(Event):
    """Published by the dumper when a copy's data key cannot be re-wrapped."""

    routing_key: ClassVar[str] = "keys.rewrap_failed"

    volume_id: UUID = Field(description="The volume holding this copy.")
    manifest_key: str = Field(description="Key of the manifest.")
    reason: str = Field(
        description="A sentence a person can act on.",
        examples=["cannot decrypt: wrong key (master key 'k1' wrapped the data key; ...)"],
    )
