"""The HTTP side of the CLI: one httpx client, and API errors turned into sentences."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx

from services.cli.errors import CliError

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
REFUSED_TOKEN = "the API refused the token (set DATABASEMENT_TOKEN or --token)"  # noqa: S105 - a sentence about the token, not one


class Client:
    """Calls the API at `url` with the bearer `token`, if any."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; the decoded JSON body of a success, or a CliError."""
        params = kwargs.pop("params", None)
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        with self.reaching():
            response = self.http.request(method, path, **kwargs)
        check(response)
        return response.json() if response.content else None

    @contextmanager
    def stream(self, path: str) -> Iterator[httpx.Response]:
        """A streamed GET that does not follow redirects (a download's 307 is ours to follow)."""
        with self.reaching(), self.http.stream("GET", path, follow_redirects=False) as response:
            if response.is_error:
                response.read()
                check(response)
            yield response

    @contextmanager
    def reaching(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise CliError(f"the API at {self.url} did not answer in time: {exc}") from None
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach the API at {self.url}: {reason(exc)}") from None


def check(response: httpx.Response) -> None:
    """Raise the API's own sentence for a 4xx or 5xx."""
    if response.status_code == httpx.codes.UNAUTHORIZED:
        raise CliError(REFUSED_TOKEN)
    if response.is_success or response.is_redirect:
        return
    detail = detail_of(response)
    if response.is_server_error:
        raise CliError(f"the API failed (HTTP {response.status_code}): {detail}")
    raise CliError(detail)


def detail_of(response: httpx.Response) -> str:
    """The `detail` sentence of an error body, whatever its shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))
    return f"HTTP {response.status_code} {response.reason_phrase}"


def reason(exc: Exception) -> str:
    """The innermost cause of a transport error, e.g. '[Errno 111] Connection refused'."""
    text = str(exc)
    return text or type(exc).__name__


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def resolve(client: Client, resource: str, ref: str) -> dict[str, Any]:
    """One server or volume by id or by name, e.g. resolve(client, "servers", "prod-db")."""
    noun = resource.removesuffix("s")
    if is_uuid(ref):
        found: dict[str, Any] = client.get(f"/api/v1/{resource}/{ref}")
        return found
    matches = [item for item in items_of(client.get(f"/api/v1/{resource}")) if item["name"] == ref]
    if not matches:
        raise CliError(f"no {noun} is named {ref!r}")
    return matches[0]


def items_of(body: Any) -> list[dict[str, Any]]:
    """The items of a listing, whether the API answers a list or {"items": [...]}."""
    if isinstance(body, dict):
        items: list[dict[str, Any]] = body.get("items", [])
        return items
    return list(body)
