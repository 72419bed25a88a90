"""Bodies of /api/v1/restores and /api/v1/snapshots/{id}/verify."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.api.schemas._text import PRINTABLE
from shared.events import RestoreMode, TableDifference

MAX_NAME_BYTES = 63
"""PostgreSQL keeps 63 bytes of a name (NAMEDATALEN - 1); MySQL allows 64 characters."""

RestoreStatus = Literal["pending", "in_progress", "completed", "failed"]


def _fits(name: str) -> str:
    if len(name.encode()) > MAX_NAME_BYTES:
        raise ValueError(f"must be at most {MAX_NAME_BYTES} bytes long")
    return name


DatabaseName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_BYTES, pattern=PRINTABLE, examples=["shop_restored"]),
    AfterValidator(_fits),
]


class RestoreCreate(BaseModel):
    """Restore a completed snapshot into a database of a server of the same engine family."""

    model_config = ConfigDict(extra="forbid")

    snapshot_id: UUID
    server_id: UUID = Field(description="The target server: the source one or another.")
    database: DatabaseName = Field(description="The target database; created when missing.")
    overwrite: bool = Field(
        default=False, description="Replace the content of an existing target database."
    )


class VerifyCreate(BaseModel):
    """Verify a completed snapshot by restoring it into a throw-away database on a server."""

    model_config = ConfigDict(extra="forbid")

    server_id: UUID = Field(description="The server the scratch database is made on.")


class RestoreAccepted(BaseModel):
    """A restore accepted: pending until a dumper picks it up."""

    id: UUID = Field(description="The restore's id: GET /api/v1/restores/{id}.")
    status: Literal["pending"] = "pending"


class VerifyAccepted(RestoreAccepted):
    """A verify accepted: a restore into a scratch database that is dropped afterwards."""

    database: str = Field(examples=["dbm_verify_3fa2c91b"], description="The scratch database.")


class RestorePublic(BaseModel):
    """One restore or verify: what, where to, and how it went."""

    id: UUID
    snapshot_id: UUID
    mode: RestoreMode | None = Field(description="restore, or verify (null until known).")
    server_id: UUID | None
    database: str | None
    overwrite: bool = False
    status: RestoreStatus
    bytes_restored: int = Field(default=0, description="Uncompressed bytes fed to the client.")
    bytes_read: int = Field(default=0, description="Compressed bytes of the artifact read.")
    chunks_verified: int = Field(default=0, description="Chunks whose sha256 matched.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = Field(default=None, description="Why it failed.")
    created_database: bool | None = Field(
        default=None, description="Whether the restore created the target database."
    )
    target_dropped: bool | None = Field(
        default=None, description="After a failure: whether the database it created was dropped."
    )
    verify_ok: bool | None = Field(
        default=None, description="A verify's outcome: every table's row count matched."
    )
    table_differences: list[TableDifference] = Field(
        default_factory=list, description="A verify's tables whose row counts differ."
    )


class RestorePage(BaseModel):
    """One page of restores, newest first; pass `next_cursor` as `cursor` for the next one."""

    items: list[RestorePublic]
    next_cursor: str | None = Field(description="null on the last page.")
