"""Events the api publishes (through its outbox)."""

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.events._base import (
    _EXAMPLE_RESTORE,
    ArtifactAnchor,
    Destination,
    Event,
    RestoreMode,
    RestoreSource,
    Sealed,
    ServerType,
)


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
    copies: list[Destination] = Field(
        default_factory=list,
        description="Further volumes that get the same artifact: the dump runs once.",
    )
    requested_at: AwareDatetime = Field(
        description="When the api accepted the request.", examples=["2026-11-25T03:00:00Z"]
    )
    config_id: UUID | None = Field(
        default=None, description="The backup configuration that fired it; None when manual."
    )
    encrypted: bool = Field(
        default=False, description="Seal every chunk with AES-256-GCM (docs/encryption.md)."
    )
    compression_level: int | None = Field(
        default=None, description="The compressor's level; None for the dumper's default."
    )
    expected_size: int | None = Field(
        default=None,
        ge=0,
        description="Compressed bytes the backup is expected to weigh, when the requester "
        "knows; None lets the dumper use the database's last dump, else its size on the server.",
        examples=[1073741824],
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


class SnapshotCancelRequested(Event):
    """Published by the api when a user cancels a pending or running backup.

    Every dumper replica receives it (each on its own queue); the one running the dump kills
    the tool and publishes DumpFailed("cancelled"); the others remember it, so a request still
    queued is refused when it arrives.
    """

    routing_key: ClassVar[str] = "snapshot.cancel_requested"

    reason: str = Field(default="cancelled", description="Shown as the snapshot's error.")


class SnapshotLockChanged(Event):
    """Published by the api (through its outbox) when a user locks or unlocks a snapshot.

    A locked snapshot is never pruned by retention and cannot be deleted. The
    catalog keeps the change with the latest `occurred_at`, so a late lock never undoes a
    newer unlock.
    """

    routing_key: ClassVar[str] = "snapshot.lock_changed"

    locked: bool = Field(description="True to lock, false to unlock.", examples=[True])


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


class KeysRewrapRequested(Event):
    """Published by the api (through its outbox) for each stored copy of a completed encrypted
    snapshot when an operator rotates the master key (`POST /api/v1/encryption/rewrap`).

    The dumper that holds the keyring re-wraps the snapshot's data key with its active master
    key and rewrites the manifest only; the artifact's data is never re-encrypted.
    """

    routing_key: ClassVar[str] = "keys.rewrap_requested"

    volume_id: UUID = Field(description="The volume holding this copy.")
    volume: Sealed = Field(description="The sealed volume spec.")
    manifest_key: str = Field(
        description="Key of the copy's manifest relative to the volume root.",
        examples=[
            "prod-db/shop/20261125T030000Z_5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d.manifest.json"
        ],
    )
    anchor: ArtifactAnchor | None = Field(
        default=None,
        description="What the catalog recorded of the artifact: a manifest on the volume that "
        "differs is not rewritten. A request without it (from an older api) is refused.",
    )


class SnapshotWarned(Event):
    """Published by the api (through its outbox) when a post-backup or post-restore hook of a
    backup configuration exited non-zero or timed out. A warning, never a failure:
    the catalog adds it to the snapshot's `warnings` and leaves its status alone.
    """

    routing_key: ClassVar[str] = "snapshot.warned"

    source: Literal["post_backup_hook", "post_restore_hook"] = Field(
        description="What raised the warning.", examples=["post_backup_hook"]
    )
    message: str = Field(
        description="What went wrong, in a sentence.",
        examples=["post-backup hook /usr/local/bin/sync-offsite exited with code 3"],
    )
    restore_id: UUID | None = Field(
        default=None, description="The restore whose hook it was (post-restore hooks)."
    )
    exit_code: int | None = Field(
        default=None, description="The hook's exit code; None when it timed out or never ran."
    )
