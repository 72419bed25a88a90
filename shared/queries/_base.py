"""What every request and reply asked over the broker shares.

A request names the reply it gets by its generic parameter (`GetSnapshot` is a
`Query[SnapshotReply]`), so the asker's `ask(request)` is typed by the request alone. Every
reply carries `ok`: true on an answer, false on a `QueryRefused` with the sentence why.
"""

from typing import ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

NOT_FOUND = "not_found"
"""The `error` of a refusal because the record asked for does not exist."""
INVALID_QUERY = "invalid query"
"""How the `error` of a refusal begins when the request itself is malformed."""


class Reply(BaseModel):
    """An answer to a request."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ok: Literal[True] = Field(default=True, description="Always true on an answer.")


class QueryRefused(BaseModel):
    """The reply to a request that is not understood or cannot be answered."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ok: Literal[False] = Field(default=False, description="Always false on a refusal.")
    error: str = Field(
        description=f"Why, as a sentence; `{NOT_FOUND}` when the record asked for does not "
        f"exist, beginning with `{INVALID_QUERY}` when the request is malformed.",
        examples=["invalid query: limit", NOT_FOUND],
    )

    @property
    def not_found(self) -> bool:
        """Whether the record asked for does not exist."""
        return self.error == NOT_FOUND

    @property
    def invalid(self) -> bool:
        """Whether the request itself was malformed."""
        return self.error.startswith(INVALID_QUERY)


class Check(BaseModel):
    """One step of a test, passed or failed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    check: str = Field(description="The step.", examples=["reachable"])
    ok: bool = Field(description="Whether it passed.")
    detail: str = Field(description="What was found, as a sentence.")


class ChecksReply(Reply):
    """The steps of a test, in the order they ran; those after a failure are failed too."""

    checks: list[Check] = Field(description="Every step of the test.")


ReplyT = TypeVar("ReplyT", bound=Reply)
Answerer = Literal["catalog", "dumper", "uploader"]


class Query(BaseModel, Generic[ReplyT]):
    """A request; its subclass fixes the reply type and the `op` that names it on the wire."""

    # Unknown fields are ignored: an asker one version ahead is still answered.
    model_config = ConfigDict(frozen=True, extra="ignore")
    reply_type: ClassVar[type[Reply]]
    """The model of the answer (the generic parameter, at run time)."""
    answered_by: ClassVar[Answerer]
    """The service whose query queue answers it."""


def refused_for(exc: ValidationError) -> QueryRefused:
    """The refusal of a request that does not validate, naming its offending fields."""
    fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()) or "body"
    return QueryRefused(error=f"{INVALID_QUERY}: {fields}")
