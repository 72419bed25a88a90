"""The envelope every event carries and the value types events share."""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
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


class Encryption(BaseModel):
    """How an encrypted artifact's data key is kept (docs/encryption.md).

    Every chunk is sealed with AES-256-GCM under a random data key of its snapshot; the data
    key travels and is stored only wrapped by a master key, named by `key_id`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithm: Literal["AES-256-GCM"] = Field(
        default="AES-256-GCM", description="The cipher sealing each chunk."
    )
    key_id: str = Field(description="The master key that wraps the data key.", examples=["k1"])
    wrapped_key: str = Field(
        description="The data key wrapped by the master key (base64).", examples=["q83v..."]
    )


_EXAMPLE_RESTORE = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"  # fixed: the AsyncAPI doc is committed
RestoreMode = Literal["restore", "verify"]
SnapshotStatus = Literal["pending", "in_progress", "completed", "failed", "deleted"]


class ArtifactAnchor(BaseModel):
    """What the catalog recorded of a snapshot's artifact when its backup completed.

    The trust anchor of every restore, verify and key rewrap: the dumper compares the
    manifest it reads from the volume with it and refuses any difference before it feeds one
    byte to a client (docs/encryption.md, "What is checked against the catalog"). A volume
    holds what anyone with write access to it put there; the catalog holds what the backup
    wrote.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(
        description="SHA-256 of the whole stored artifact.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    size: int = Field(ge=0, description="Stored bytes of the artifact.", examples=[1048576])
    manifest_digest: str = Field(
        description="SHA-256 of the manifest's lasting content: sizes, checksums, tool, table "
        "rows and the chunk list with every chunk's size and sha256; the encryption block's "
        "key id and wrapped key are left out, as a key rewrap changes them (shared/anchors.py).",
        examples=["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"],
    )
    encrypted: bool = Field(description="Whether every chunk is a sealed frame.")
    key_id: str | None = Field(
        default=None,
        description="The master key that wraps the data key; None when plain.",
        examples=["k1"],
    )


class RestoreSource(BaseModel):
    """Where a restore reads the snapshot from, and what the catalog says it must find."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    volume_id: UUID = Field(description="The volume holding the artifact.")
    volume: Sealed = Field(description="The sealed volume spec.")
    artifact_key: str = Field(description="Key of the artifact relative to the volume root.")
    manifest_key: str = Field(description="Key of the manifest beside it.")
    compression: Compression = Field(description="How the artifact is compressed.")
    anchor: ArtifactAnchor | None = Field(
        default=None,
        description="What the catalog recorded of the artifact; a request without it (sent "
        "by an api older than this field) is refused, never trusted.",
    )


class TableDifference(BaseModel):
    """One table whose restored row count differs from the manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str = Field(description="Schema-qualified table name.", examples=["public.orders"])
    expected: int | None = Field(description="Rows in the manifest; None if not listed.")
    actual: int | None = Field(description="Rows restored; None if the table is missing.")
