"""Requests the catalog answers over the broker, and its replies.

Snapshots and restores travel as their public JSON (the catalog's `public()` of a record);
the api validates them into its own response schemas.
"""

from typing import Annotated, Any, ClassVar, Generic, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from shared.events import SnapshotStatus
from shared.queries._base import Answerer, Query, Reply, ReplyT

SnapshotSort = Literal["created_at", "-created_at", "size", "-size"]
DEFAULT_SORT: SnapshotSort = "-created_at"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RestoreStatus = Literal["pending", "in_progress", "completed", "failed"]

_SNAPSHOT = "5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d"  # fixed examples: the docs are committed
_SERVER = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
_VOLUME = "3a7c9e10-4b2d-4f6e-8a1b-c2d3e4f5a6b7"
_RESTORE = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"
_CURSOR = Field(
    default=None,
    description="The `next_cursor` of the previous page; None for the first.",
    examples=[None],
)
_LIMIT = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Most records on one page.")
_NEXT_CURSOR = Field(
    default=None, description="Pass back as `cursor` for the next page; None on the last."
)


class SnapshotReply(Reply):
    """One snapshot with its timeline, restores and warnings."""

    snapshot: dict[str, Any] = Field(description="The snapshot's detail as public JSON.")


class SnapshotPage(Reply):
    """One page of snapshots."""

    snapshots: list[dict[str, Any]] = Field(description="The page's snapshots as public JSON.")
    next_cursor: str | None = _NEXT_CURSOR


class VolumeUsageReply(Reply):
    """What the completed snapshots on a volume hold."""

    bytes: int = Field(ge=0, description="Stored bytes of the completed snapshots.")
    snapshots: int = Field(ge=0, description="How many completed snapshots the volume holds.")


class ServerActivityReply(Reply):
    """What the catalog knows running on, or recorded of, one server."""

    in_progress: int = Field(ge=0, description="Snapshots pending or in progress.")
    snapshots: int = Field(ge=0, description="Snapshots of the server that are not deleted.")
    restores: int = Field(ge=0, description="Restores pending or in progress into the server.")


class VolumeActivityReply(Reply):
    """What the catalog records on one volume."""

    snapshots: int = Field(ge=0, description="Snapshots on the volume that are not deleted.")


class RestoreReply(Reply):
    """One restore or verify."""

    restore: dict[str, Any] = Field(description="The restore as public JSON.")


class RestorePage(Reply):
    """One page of restores, newest first."""

    restores: list[dict[str, Any]] = Field(description="The page's restores as public JSON.")
    next_cursor: str | None = _NEXT_CURSOR


class TargetActivityReply(Reply):
    """What runs on one database now."""

    backups: list[UUID] = Field(description="Snapshots being taken from the database.")
    restores: list[UUID] = Field(description="Restores writing into the database.")


class RetentionCandidatesReply(Reply):
    """Every completed snapshot in a retention scope, newest first."""

    snapshots: list[dict[str, Any]] = Field(
        description="Public snapshot JSON, with `created_at`, `locked` and `config_id`."
    )


class EncryptionKeysReply(Reply):
    """Completed encrypted snapshots counted by master key."""

    keys: dict[str, int] = Field(
        description="Master key id -> completed snapshots whose data key it wraps.",
        examples=[{"k1": 12}],
    )


class CatalogRequest(Query[ReplyT], Generic[ReplyT]):
    """A request the catalog answers on its query queue."""

    answered_by: ClassVar[Answerer] = "catalog"


class GetSnapshot(CatalogRequest[SnapshotReply]):
    """Ask for one snapshot's detail; refused with `not_found` when the catalog has none."""

    reply_type = SnapshotReply
    op: Literal["get_snapshot"] = Field(default="get_snapshot", description="The request.")
    snapshot_id: UUID = Field(description="The snapshot.", examples=[_SNAPSHOT])


class ListSnapshots(CatalogRequest[SnapshotPage]):
    """Ask for one page of snapshots; filters combine."""

    reply_type = SnapshotPage
    op: Literal["list_snapshots"] = Field(default="list_snapshots", description="The request.")
    status: SnapshotStatus | None = Field(
        default=None,
        description="Only snapshots in this status; deleted ones show only when asked for.",
    )
    server_id: UUID | None = Field(default=None, description="Only snapshots of this server.")
    database: str | None = Field(default=None, description="Only snapshots of this database.")
    volume_id: UUID | None = Field(default=None, description="Only snapshots on this volume.")
    created_from: AwareDatetime | None = Field(
        default=None, description="Only snapshots created at or after this time."
    )
    created_to: AwareDatetime | None = Field(
        default=None, description="Only snapshots created at or before this time."
    )
    sort: SnapshotSort = Field(default=DEFAULT_SORT, description="Sort key, `-` for descending.")
    limit: int = _LIMIT
    cursor: str | None = _CURSOR


class VolumeUsage(CatalogRequest[VolumeUsageReply]):
    """Ask how much the completed snapshots on a volume hold."""

    reply_type = VolumeUsageReply
    op: Literal["volume_usage"] = Field(default="volume_usage", description="The request.")
    volume_id: UUID = Field(description="The volume.", examples=[_VOLUME])


class ServerActivity(CatalogRequest[ServerActivityReply]):
    """Ask what the catalog holds of a server (before it is deleted)."""

    reply_type = ServerActivityReply
    op: Literal["server_activity"] = Field(default="server_activity", description="The request.")
    server_id: UUID = Field(description="The server.", examples=[_SERVER])


class VolumeActivity(CatalogRequest[VolumeActivityReply]):
    """Ask how many snapshots a volume still holds (before it is deleted)."""

    reply_type = VolumeActivityReply
    op: Literal["volume_activity"] = Field(default="volume_activity", description="The request.")
    volume_id: UUID = Field(description="The volume.", examples=[_VOLUME])


class GetRestore(CatalogRequest[RestoreReply]):
    """Ask for one restore; refused with `not_found` when the catalog has none."""

    reply_type = RestoreReply
    op: Literal["get_restore"] = Field(default="get_restore", description="The request.")
    restore_id: UUID = Field(description="The restore.", examples=[_RESTORE])


class ListRestores(CatalogRequest[RestorePage]):
    """Ask for one page of restores, newest first; filters combine."""

    reply_type = RestorePage
    op: Literal["list_restores"] = Field(default="list_restores", description="The request.")
    snapshot_id: UUID | None = Field(default=None, description="Only restores of this snapshot.")
    status: RestoreStatus | None = Field(default=None, description="Only restores in this status.")
    server_id: UUID | None = Field(default=None, description="Only restores into this server.")
    database: str | None = Field(default=None, description="Only restores into this database.")
    limit: int = _LIMIT
    cursor: str | None = _CURSOR


class TargetActivity(CatalogRequest[TargetActivityReply]):
    """Ask what runs on a database now: the backups taken from it and the restores writing
    into it, plus those of the asker's recent requests the catalog has not recorded yet
    (pending by definition: the outbox may be a moment ahead of the catalog)."""

    reply_type = TargetActivityReply
    op: Literal["target_activity"] = Field(default="target_activity", description="The request.")
    server_id: UUID = Field(description="The target server.", examples=[_SERVER])
    database: str = Field(description="The target database.", examples=["shop"])
    requested: list[UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="Snapshots the asker requested of this database lately.",
    )
    requested_restores: list[UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="Restores the asker requested into this database lately.",
    )


class RetentionCandidates(CatalogRequest[RetentionCandidatesReply]):
    """Ask for the completed snapshots a configuration fired, or of one server's database."""

    reply_type = RetentionCandidatesReply
    op: Literal["retention_candidates"] = Field(
        default="retention_candidates", description="The request."
    )
    config_id: UUID | None = Field(default=None, description="The configuration's snapshots.")
    server_id: UUID | None = Field(default=None, description="With `database`: its snapshots.")
    database: str | None = Field(default=None, description="With `server_id`: its snapshots.")

    @model_validator(mode="after")
    def _one_scope(self) -> "RetentionCandidates":
        by_source = self.server_id is not None and self.database is not None
        if (self.config_id is None) == (not by_source):
            raise ValueError("give config_id, or server_id and database")
        return self


class EncryptionKeys(CatalogRequest[EncryptionKeysReply]):
    """Ask which master key wraps the data key of each completed encrypted snapshot."""

    reply_type = EncryptionKeysReply
    op: Literal["encryption_keys"] = Field(default="encryption_keys", description="The request.")


CatalogQuery = Annotated[
    GetSnapshot
    | ListSnapshots
    | VolumeUsage
    | ServerActivity
    | VolumeActivity
    | GetRestore
    | ListRestores
    | TargetActivity
    | RetentionCandidates
    | EncryptionKeys,
    Field(discriminator="op"),
]
CatalogQueries: TypeAdapter[CatalogQuery] = TypeAdapter(CatalogQuery)
"""Validates any request the catalog answers."""
