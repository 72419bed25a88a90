"""`/openapi.json` and `/docs` (Swagger UI, vendored) for whom API_DOCS lets read them.

`signed-in` (the default) asks for a live API token or a web UI session: the document
names every route and field, which helps an attacker more than a visitor. `off` answers
404, `public` serves anyone.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from services.api.deps import bearer, get_settings, get_tokens
from services.api.errors import NotFoundError, UnauthenticatedError
from services.api.tokens import token_hash
from services.api.ui.auth import DOCS_PATH, LOGIN_PATH, current_session
from services.api.ui.rendering import templates

OPENAPI_PATH = "/openapi.json"

router = APIRouter(include_in_schema=False)


class DocsSignInRequiredError(UnauthenticatedError):
    """The documents were asked for without a token or a session."""


async def _signed_in(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    if credentials is not None and credentials.credentials:
        found = await get_tokens(request).authenticate(token_hash(credentials.credentials))
        return found is not None
    return await current_session(request) is not None


async def may_read_docs(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """404 when the documents are off, 401 for a stranger when they need a sign-in."""
    mode = get_settings(request).docs
    if mode == "off":
        raise NotFoundError("the API documentation is turned off on this server (API_DOCS)")
    if mode == "signed-in" and not await _signed_in(request, credentials):
        raise DocsSignInRequiredError


Readable = Depends(may_read_docs)


@router.get(OPENAPI_PATH, dependencies=[Readable])
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get(DOCS_PATH)
async def docs_page(request: Request) -> Response:
    try:
        await may_read_docs(request, await bearer(request))
    except DocsSignInRequiredError:
        # A browser without a session signs in first and comes back here.
        return RedirectResponse(f"{LOGIN_PATH}?next={DOCS_PATH}", status_code=303)
    return templates.TemplateResponse(request, "docs.html")
