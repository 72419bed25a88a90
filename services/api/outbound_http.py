"""An HTTP request pinned to an address the outbound policy checked.

httpx would resolve the name again when connecting, and a second answer could differ from the
checked one (DNS rebinding). So the request goes to the checked address, with the original
name in the Host header and, for HTTPS, as the TLS server name, which the certificate is
verified against as before.
"""

import contextlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from shared.outbound import IpAddress, OutboundPolicy, OutboundRefusedError

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class PinnedRequest:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


async def post_pinned(
    client: httpx.AsyncClient, url: str, outbound: OutboundPolicy, **kwargs: Any
) -> httpx.Response:
    """POST to `url` through each address its host resolves to (all checked first) until one
    connects, as a client connecting by name would; OutboundRefusedError when one is refused.
    """
    targets = await pinned(url, outbound)
    headers = kwargs.pop("headers", {})
    for target in targets[:-1]:
        with contextlib.suppress(httpx.ConnectError):
            return await _post(client, target, headers, kwargs)
    return await _post(client, targets[-1], headers, kwargs)


async def _post(
    client: httpx.AsyncClient,
    target: PinnedRequest,
    headers: dict[str, str],
    kwargs: dict[str, Any],
) -> httpx.Response:
    return await client.post(
        target.url, headers=headers | target.headers, extensions=target.extensions, **kwargs
    )


async def pinned(url: str, outbound: OutboundPolicy) -> list[PinnedRequest]:
    """`url` aimed at each address its host resolves to, every one checked first."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or parts.scheme not in DEFAULT_PORTS:
        raise OutboundRefusedError("the URL needs an http or https scheme and a host")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    addresses = await outbound.resolve(host, port)
    if _is_literal(host):
        return [PinnedRequest(url)]
    return [_aimed(url, address) for address in addresses]


def _aimed(url: str, address: IpAddress) -> PinnedRequest:
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (
        (f"{userinfo}@" if userinfo else "") + literal + (f":{parts.port}" if parts.port else "")
    )
    named = host + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return PinnedRequest(
        urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
        {"Host": named},
        extensions,
    )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
