"""Security headers on every response: a CSP without inline script for the web UI and the
API documentation, nothing at all for the JSON API, and no framing, sniffing or referrer."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Inline style attributes stay allowed (progress bars set their width); scripts come only
# from the api's own static files, so injected markup cannot run code.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_PREFIXES = ("/ui", "/docs")
COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def policy_for(path: str) -> str:
    """The page policy for the UI and the docs, the closed one for JSON and downloads."""
    return PAGE_POLICY if path.startswith(PAGE_PREFIXES) else DOCUMENT_POLICY


class SecurityHeadersMiddleware:
    """Adds the headers unless the response already set them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = (*COMMON, (b"content-security-policy", policy_for(scope["path"]).encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in added if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
