"""Requests the dumper answers over the broker about database servers, and its replies."""

from typing import Annotated, ClassVar, Generic, Literal

from pydantic import Field, TypeAdapter

from shared.events import Sealed
from shared.queries._base import Answerer, ChecksReply, Query, Reply, ReplyT


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


class TestConnection(DumperRequest[ChecksReply]):
    """Ask the dumper to test a server: reachable, authenticated, version, privileges, tool."""

    __test__ = False  # a request, not a pytest class

    reply_type = ChecksReply
    op: Literal["test_connection"] = Field(default="test_connection", description="The request.")
    connection: Sealed = Field(description="The sealed connection spec of the server.")
    database: str | None = Field(
        default=None, description="The database whose privileges are checked; None for none."
    )


DumperQuery = Annotated[ListDatabases | TestConnection, Field(discriminator="op")]
DumperQueries: TypeAdapter[DumperQuery] = TypeAdapter(DumperQuery)
"""Validates any request the dumper answers."""
