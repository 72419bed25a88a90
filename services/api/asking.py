"""Asking another service a typed request over the broker, and reading its typed reply.

The reply type follows from the request: `await ask(link, GetSnapshot(snapshot_id=...))` is
a `SnapshotReply`. A refusal becomes a `RefusedError` carrying the answerer's sentence.
"""

from typing import Any, Protocol, overload

from pydantic import ValidationError

from services.api.errors import InvalidRequestError, RefusedError, UnavailableError
from shared.queries import (
    CatalogRequest,
    DumperRequest,
    Query,
    QueryRefused,
    ReplyT,
    UploaderRequest,
)


class CatalogAsker(Protocol):
    """Sends a request body to the catalog's query queue (BrokerLink; a stub in tests)."""

    async def ask_catalog(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]: ...


class DumperAsker(Protocol):
    """Sends a request body to the dumper's query queue."""

    async def ask_dumper(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]: ...


class UploaderAsker(Protocol):
    """Sends a request body to the uploader's query queue."""

    async def ask_uploader(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]: ...


@overload
async def ask(
    link: CatalogAsker, request: CatalogRequest[ReplyT], *, wait: float | None = None
) -> ReplyT: ...
@overload
async def ask(
    link: DumperAsker, request: DumperRequest[ReplyT], *, wait: float | None = None
) -> ReplyT: ...
@overload
async def ask(
    link: UploaderAsker, request: UploaderRequest[ReplyT], *, wait: float | None = None
) -> ReplyT: ...
async def ask(link: Any, request: Query[Any], *, wait: float | None = None) -> Any:
    """The reply to `request` from the service that answers it; `wait` seconds at most (the
    link's query timeout when None). RefusedError when it refuses, UnavailableError when it
    does not answer or answers something not understood."""
    who = request.answered_by
    send = getattr(link, f"ask_{who}")
    raw = await send(request.model_dump(mode="json"), wait=wait)
    try:
        return request.reply_type.model_validate(raw)
    except ValidationError:
        pass
    try:
        refused = QueryRefused.model_validate(raw)
    except ValidationError:
        raise UnavailableError(f"the {who} gave an answer that is not understood") from None
    raise RefusedError(who, refused)


async def ask_catalog_for_one(link: CatalogAsker, request: CatalogRequest[ReplyT]) -> ReplyT | None:
    """The catalog's reply to a question about one record; None when it has no such record
    (it may not have folded an accepted request yet)."""
    try:
        return await ask(link, request)
    except RefusedError as exc:
        if exc.not_found:
            return None
        raise


async def ask_catalog_for_page(link: CatalogAsker, request: CatalogRequest[ReplyT]) -> ReplyT:
    """The catalog's page of a listing; a listing it refuses as invalid (a bad cursor) is the
    caller's mistake, a 422 with the catalog's reason."""
    try:
        return await ask(link, request)
    except RefusedError as exc:
        if exc.invalid:
            raise InvalidRequestError(f"the catalog refused the listing: {exc.reason}") from None
        raise
