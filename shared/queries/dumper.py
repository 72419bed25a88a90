"""Requests the dumper answers over the broker about database servers, and its replies."""

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from shared.events import Sealed
from shared.queries._base import ChecksReply, Query, Reply


class DatabasesReply(Reply):
    """The databases of a server."""

    databases: list[str] = Field(description="Their names.", examples=[["shop", "crm"]])


class ListDatabases(Query[DatabasesReply]):
    """Ask for every database on a server the connection reaches."""

    reply_type = DatabasesReply
    op: Literal["list_databases"] = Field(default="list_databases", description="The request.")
    connection: Sealed = Field(description="The sealed connection spec of the server.")


class TestConnection(Query[ChecksReply]):
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
