"""Sign in with the admin password (`python -m services.api create-admin`) or an API token;
sign out."""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from services.api.adapters.sign_in_failures import SignInFailures
from services.api.deps import Settings, Tokens
from services.api.settings import ApiSettings
from services.api.tokens import token_hash
from services.api.ui.auth import (
    CSRF_FIELD,
    HOME_PATH,
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE,
    Posted,
    UiRoute,
    csrf_refused,
    current_session,
    safe_next,
    session_hash,
    tokens_match,
    ui_store,
)
from services.api.ui.passwords import hash_password, verify_password
from services.api.ui.rendering import render
from services.api.ui.sign_in_limits import (
    ChecksBusyError,
    PasswordChecks,
    client_address,
    refusal_seconds,
    retry_after,
    subjects,
)
from shared.logging import get_logger

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
log = get_logger(__name__)

DEFAULT_USER = "admin"
_DECOY = hash_password(secrets.token_urlsafe(16))
"""Checked against when the name is unknown, so timing does not tell which names exist."""

Field = Annotated[str, Form()]


def _login_page(
    request: Request,
    *,
    back_to: str,
    error: str | None = None,
    status_code: int = 200,
    retry_seconds: float | None = None,
) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": csrf, "next": back_to, "error": error},
        status_code=status_code,
    )
    if retry_seconds is not None:
        response.headers["Retry-After"] = retry_after(retry_seconds)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.ui_secure_cookie,
        path=LOGIN_PATH,
    )
    return response


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter's name
    if await current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, back_to=safe_next(next))


async def _open_session(
    request: Request, settings: ApiSettings, back_to: str, **who: object
) -> Response:
    session_id = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=settings.ui_session_hours)
    await ui_store(request).open_session(
        session_hash(session_id),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + lifetime,
        **who,  # type: ignore[arg-type]
    )
    response = RedirectResponse(safe_next(back_to), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.ui_secure_cookie,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


def _login_csrf_ok(request: Request, sent: str | None) -> bool:
    return tokens_match(sent, request.cookies.get(LOGIN_CSRF_COOKIE) or "")


def _failures(request: Request, settings: ApiSettings) -> SignInFailures:
    return SignInFailures(request.app.state.runtime.pool, settings.schema_name)


async def _refused(
    request: Request, settings: ApiSettings, keys: list[str], back_to: str
) -> Response | None:
    """429 while the address or the user is refused after too many wrong passwords."""
    seconds = await _failures(request, settings).seconds_refused(keys)
    if seconds <= 0:
        return None
    log.warning("ui_sign_in_throttled", address=client_address(request))
    wait = retry_after(seconds)
    error = f"Too many wrong attempts: sign-in is refused for {wait} more seconds."
    return _login_page(
        request, back_to=back_to, error=error, status_code=429, retry_seconds=seconds
    )


async def _count_failure(request: Request, settings: ApiSettings, keys: list[str]) -> None:
    await _failures(request, settings).count_failure(
        keys,
        window_seconds=settings.login.window_seconds,
        refusal=lambda failures: refusal_seconds(failures, settings.login),
    )


@router.post("/login")
async def sign_in(
    request: Request,
    *,
    settings: Settings,
    password: Field,
    username: Field = DEFAULT_USER,
    next: Field = HOME_PATH,  # noqa: A002 - the form field's name
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    if not _login_csrf_ok(request, csrf_token):
        return csrf_refused(request)
    address = client_address(request)
    keys = subjects(address, username)
    if (refused := await _refused(request, settings, keys, next)) is not None:
        return refused
    stored = await ui_store(request).password_hash(username)
    checks: PasswordChecks = request.app.state.password_checks
    try:
        matches = await checks.run(verify_password, password, stored or _DECOY)
    except ChecksBusyError:
        log.warning("ui_sign_in_busy", address=address)
        error = "Too many sign-ins are being checked right now; try again in a few seconds."
        return _login_page(request, back_to=next, error=error, status_code=503, retry_seconds=5)
    if stored is None or not matches:
        # The address, never the password, nor the name (it may be a mistyped password).
        log.info("ui_sign_in_refused", method="password", address=address)
        await _count_failure(request, settings, keys)
        error = "Wrong name or password."
        return _login_page(request, back_to=next, error=error, status_code=401)
    await _failures(request, settings).forget(keys)
    log.info("ui_signed_in", method="password", user=username, address=address)
    return await _open_session(request, settings, next, user_name=username)


@router.post("/login/token")
async def sign_in_with_token(
    request: Request,
    *,
    settings: Settings,
    tokens: Tokens,
    token: Field,
    next: Field = HOME_PATH,  # noqa: A002 - the form field's name
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    if not _login_csrf_ok(request, csrf_token):
        return csrf_refused(request)
    address = client_address(request)
    keys = subjects(address)
    if (refused := await _refused(request, settings, keys, next)) is not None:
        return refused
    # One indexed lookup of the token's SHA-256: cheap, and 256 random bits are not guessed.
    token_id = await tokens.authenticate(token_hash(token.strip()))
    if token_id is None:
        log.info("ui_sign_in_refused", method="token", address=address)
        await _count_failure(request, settings, keys)
        error = "That API token is unknown or revoked."
        return _login_page(request, back_to=next, error=error, status_code=401)
    log.info("ui_signed_in", method="token", token_id=str(token_id), address=address)
    return await _open_session(request, settings, next, token_id=token_id)


@router.post("/logout")
async def sign_out(request: Request, session: Posted) -> Response:
    await ui_store(request).close_session(session.id_hash)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
