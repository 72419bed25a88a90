"""Requests the dumper answers over the broker about database servers, and its replies."""

from typing import Annotated, ClassVar, Generic, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.events import Sealed
from shared.queries._base import Answerer, Check, ChecksReply, Query, Reply, ReplyT


class DatabasesReply(Reply):
    """The databases of a server."""

    databases: list[str] = Field(description="Their names.", examples=[["shop", "crm"]])


class DumperRequest(Query[ReplyT], Generic[ReplyT]):
    """A request the dumper answers on its query queue."""

    answered_by: ClassVar[Answerer] = "dumper"


class ListDatabases(DumperRequest[DatabasesReply]):
    """Ask for every database on a server the connection reaches."""

    reply_type = DatabasesReply
    op: Literal["list_databases"] = Field(default="list_databases", description="The request.")
    connection: Sealed = Field(description="The sealed connection spec of the server.")


EXAMPLE_SUMMARY = (
    "ready for point-in-time recovery: no: role backup lacks REPLICATION: "
    "ALTER ROLE backup REPLICATION"
)


class Archiving(BaseModel):
    """Whether the server is ready for continuous archiving (point-in-time recovery).

    Advice only: a server that is not ready still passes its connection test.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    ready: bool = Field(description="Whether every prerequisite is met.")
    summary: str = Field(
        description="The verdict in one line, with the reasons when it is no.",
        examples=[EXAMPLE_SUMMARY],
    )
    checks: list[Check] = Field(
        description="Each prerequisite: for PostgreSQL replication_role, wal_level, "
        "wal_senders, replication_slots, replication_connection; for MariaDB/MySQL log_bin, "
        "binlog_format, server_id, replication_privileges. Empty when not checked."
    )


class ConnectionChecksReply(ChecksReply):
    """The connection test's steps, and whether the server is ready for archiving."""

    archiving: Archiving | None = Field(
        default=None, description="The archiving verdict; null from a dumper that predates it."
    )


class TestConnection(DumperRequest[ConnectionChecksReply]):
    """Ask the dumper to test a server: reachable, authenticated, version, privileges, tool;
    and whether it is ready for continuous archiving."""

    __test__ = False  # a request, not a pytest class

    reply_type = ConnectionChecksReply
    op: Literal["test_connection"] = Field(default="test_connection", description="The request.")
    connection: Sealed = Field(description="The sealed connection spec of the server.")
    database: str | None = Field(
        default=None, description="The database whose privileges are checked; None for none."
    )


DumperQuery = Annotated[ListDatabases | TestConnection, Field(discriminator="op")]
DumperQueries: TypeAdapter[DumperQuery] = TypeAdapter(DumperQuery)
"""Validates any request the dumper answers."""
