"""Requests the uploader answers over the broker about storage volumes, and its replies."""

from typing import Annotated, ClassVar, Generic, Literal

from pydantic import Field, TypeAdapter

from shared.events import Sealed
from shared.queries._base import Answerer, ChecksReply, Query, Reply, ReplyT


class FreeSpaceReply(Reply):
    """The room left on a volume; None where the backend cannot tell, as on S3."""

    free_bytes: int | None = Field(description="Bytes free.", examples=[10_737_418_240])
    total_bytes: int | None = Field(description="Bytes in all.", examples=[53_687_091_200])


class UploaderRequest(Query[ReplyT], Generic[ReplyT]):
    """A request the uploader answers on its query queue."""

    answered_by: ClassVar[Answerer] = "uploader"


class TestVolume(UploaderRequest[ChecksReply]):
    """Ask the uploader to prepare a volume's directory or bucket (making a missing local
    directory), then write, read back and delete a probe object on it."""

    __test__ = False  # a request, not a pytest class

    reply_type = ChecksReply
    op: Literal["test_volume"] = Field(default="test_volume", description="The request.")
    volume: Sealed = Field(description="The sealed volume spec.")


class VolumeFreeSpace(UploaderRequest[FreeSpaceReply]):
    """Ask how much room is left on a volume."""

    reply_type = FreeSpaceReply
    op: Literal["volume_free_space"] = Field(
        default="volume_free_space", description="The request."
    )
    volume: Sealed = Field(description="The sealed volume spec.")


UploaderQuery = Annotated[TestVolume | VolumeFreeSpace, Field(discriminator="op")]
UploaderQueries: TypeAdapter[UploaderQuery] = TypeAdapter(UploaderQuery)
"""Validates any request the uploader answers."""
