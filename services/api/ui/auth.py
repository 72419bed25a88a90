"""Who is signed in, and the CSRF check every form post passes.

A session is a random cookie (HttpOnly, SameSite=Lax, Secure behind TLS) whose SHA-256 is a
row of `ui_sessions`; the row holds the session's CSRF token, which every form carries in a
hidden field and every HTMX request in the `X-CSRF-Token` header.
"""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from services.api.adapters.ui_sessions import UiSession, UiStore
from services.api.deps import get_settings
from services.api.ui.rendering import render

SESSION_COOKIE = "dbm_session"
LOGIN_CSRF_COOKIE = "dbm_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/ui/login"
HOME_PATH = "/ui/"
DOCS_PATH = "/docs"


class SignInRequiredError(Exception):
    """No live session: the page asked for sends the browser to sign in."""

    def __init__(self, back_to: str) -> None:
        super().__init__("sign in first")
        self.back_to = back_to


class CsrfRefusedError(Exception):
    """A form post without the session's CSRF token."""


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def ui_store(request: Request) -> UiStore:
    return UiStore(request.app.state.runtime.pool, get_settings(request).schema_name)


def safe_next(path: str | None) -> str:
    """Only a path of this UI (or the API documentation): never an open redirect."""
    if path == DOCS_PATH:
        return path
    if path and path.startswith("/ui/") and not path.startswith("//") and "\\" not in path:
        return path
    return HOME_PATH


async def current_session(request: Request) -> UiSession | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return await ui_store(request).session(session_hash(cookie))


async def require_session(
    request: Request, session: Annotated[UiSession | None, Depends(current_session)]
) -> UiSession:
    if session is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInRequiredError(request.url.path + query)
    request.state.ui_session = session
    return session


def tokens_match(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


async def require_csrf(
    request: Request, session: Annotated[UiSession, Depends(require_session)]
) -> UiSession:
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()  # Starlette keeps it: the route reads it again for free
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not tokens_match(sent, session.csrf_token):
        raise CsrfRefusedError
    return session


SignedIn = Annotated[UiSession, Depends(require_session)]
"""For pages: the session, or a redirect to sign in."""
Posted = Annotated[UiSession, Depends(require_csrf)]
"""For form posts: the session, with the CSRF token checked (403 without it)."""


def sign_in_redirect(request: Request, back_to: str) -> Response:
    target = f"{LOGIN_PATH}?next={quote(safe_next(back_to), safe='/')}"
    if request.headers.get("hx-request"):
        # An HTMX poll after the session ended: the whole page goes to sign in.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def csrf_refused(request: Request) -> Response:
    return render(
        request,
        "refused.html",
        {
            "message": "This form was refused: it did not carry its security (CSRF) token. "
            "Reload the page and try again."
        },
        status_code=403,
    )


class UiRoute(APIRoute):
    """Routes of the UI turn 'sign in first' into a redirect and a CSRF refusal into a 403
    page, without touching the api's JSON error handlers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequiredError as exc:
                return sign_in_redirect(request, exc.back_to)
            except CsrfRefusedError:
                return csrf_refused(request)

        return guarded
