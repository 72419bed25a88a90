"""Outbound targets users name (webhook and Slack URLs, S3 endpoints): never a link-local or
cloud metadata address, unless the operator allows it.

A user with an API token could otherwise make a service fetch the cloud's instance metadata
(credentials) or probe link-local devices. The check runs twice: on the name when a target is
saved, and on every address the name resolves to just before connecting, so a name that
later resolves to a metadata address (DNS rebinding) is refused too. Loopback and private
networks stay allowed: they are where self-hosted webhooks and object stores live.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


class OutboundRefusedError(ValueError):
    """A target the policy refuses; the sentence names the host and why."""


class OutboundSettings(BaseSettings):
    """Which otherwise refused targets the operator allows (prefix `OUTBOUND_`)."""

    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", extra="ignore")

    allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDRs and host names that webhooks and S3 endpoints may "
        "reach although they are link-local or cloud metadata addresses (e.g. "
        "`169.254.10.0/24,metadata.internal.example`).",
    )

    @field_validator("allow", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def policy(self) -> "OutboundPolicy":
        return OutboundPolicy.allowing(self.allow)


@dataclass(frozen=True)
class OutboundPolicy:
    """Refuses link-local and metadata targets except the allowed networks and names."""

    networks: tuple[IpNetwork, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def allowing(cls, entries: list[str]) -> "OutboundPolicy":
        networks, names = [], set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(names))

    def check_host(self, host: str) -> None:
        """Refuse a metadata name or a refused address literal (no DNS): on saving a target."""
        name = host.lower().rstrip(".").strip("[]")
        if name in self.names:
            return
        if name in METADATA_NAMES:
            raise OutboundRefusedError(f"{host} is a cloud metadata service; it is not reachable")
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return  # a name: its addresses are checked when connecting
        self.check_address(host, address)

    def check_address(self, host: str, address: IpAddress) -> None:
        """Refuse `address` (which `host` resolved to) when link-local or metadata."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.networks):
            return
        if address in METADATA_ADDRESSES:
            raise OutboundRefusedError(
                f"{host} is a cloud metadata address ({address}); it is not reachable"
            )
        if any(address in network for network in LINK_LOCAL):
            raise OutboundRefusedError(
                f"{host} is a link-local address ({address}); it is not reachable"
            )

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """Every address `host` resolves to, each checked; OutboundRefusedError if any fails.

        Connect to one of these, not to the name again, or a second lookup could answer
        differently.
        """
        self.check_host(host)
        name = host.strip("[]")
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                name, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise OutboundRefusedError(f"{host} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
        for address in addresses:
            self.check_address(host, address)
        return addresses


STRICT = OutboundPolicy()
"""No exceptions: what a caller gets unless the operator's settings are passed."""
