"""Outbound targets: link-local and metadata addresses refused, by name, by literal and after
resolution (fake DNS), unless the operator allows them; loopback and private stay allowed."""

import asyncio
import ipaddress
import socket

import pytest

from services.api.notifications.senders import SendError, send
from services.api.outbound_http import pinned
from shared.outbound import STRICT, OutboundPolicy, OutboundRefusedError, OutboundSettings


@pytest.fixture
def dns(monkeypatch):
    """Fake resolution: `dns[name] = [addresses]` is what the running loop answers."""
    answers: dict[str, list[str]] = {}

    async def getaddrinfo(_loop, host, port, *, type=0, **_):  # noqa: A002 - the socket API's name
        if host not in answers:
            raise socket.gaierror("no such name")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return answers


class TestNamesAndLiterals:
    @pytest.mark.parametrize(
        ("host", "why"),
        [
            ("169.254.169.254", "cloud metadata address"),
            ("[fd00:ec2::254]", "cloud metadata address"),
            ("100.100.100.200", "cloud metadata address"),
            ("metadata.google.internal", "cloud metadata service"),
            ("Metadata.Google.Internal.", "cloud metadata service"),
            ("169.254.1.1", "link-local address"),
            ("fe80::1", "link-local address"),
            ("::ffff:169.254.169.254", "cloud metadata address"),
        ],
    )
    def test_metadata_and_link_local_are_refused(self, host, why):
        with pytest.raises(OutboundRefusedError, match=why):
            STRICT.check_host(host)

    @pytest.mark.parametrize(
        "host", ["127.0.0.1", "::1", "localhost", "10.1.2.3", "192.168.0.5", "s3.example.com"]
    )
    def test_loopback_private_and_names_pass(self, host):
        STRICT.check_host(host)

    def test_the_operator_may_allow_networks_and_names(self, monkeypatch):
        monkeypatch.setenv("OUTBOUND_ALLOW", "169.254.10.0/24, metadata.google.internal")
        policy = OutboundSettings().policy()
        policy.check_host("169.254.10.7")
        policy.check_host("metadata.google.internal")
        with pytest.raises(OutboundRefusedError):
            policy.check_host("169.254.169.254")


class TestAfterResolution:
    async def test_a_name_resolving_to_a_metadata_address_is_refused(self, dns):
        dns["rebind.example"] = ["10.0.0.8", "169.254.169.254"]
        with pytest.raises(OutboundRefusedError, match=r"rebind.example is a cloud metadata"):
            await STRICT.resolve("rebind.example", 443)

    async def test_a_name_resolving_to_loopback_is_taken(self, dns):
        dns["hooks.example"] = ["127.0.0.1"]
        assert await STRICT.resolve("hooks.example", 80) == [ipaddress.ip_address("127.0.0.1")]

    @pytest.mark.usefixtures("dns")
    async def test_a_name_that_does_not_resolve_is_refused_with_a_sentence(self):
        with pytest.raises(OutboundRefusedError, match="does not resolve"):
            await STRICT.resolve("nowhere.example", 80)

    async def test_the_request_goes_to_the_checked_address_under_its_name(self, dns):
        dns["hooks.example"] = ["10.0.0.9", "fd00::9"]
        target, other = await pinned("https://hooks.example:8443/in?x=1", STRICT)
        assert other.url == "https://[fd00::9]:8443/in?x=1"
        assert target.url == "https://10.0.0.9:8443/in?x=1"
        assert target.headers == {"Host": "hooks.example:8443"}
        assert target.extensions == {"sni_hostname": "hooks.example"}

    async def test_a_webhook_to_a_rebound_name_is_a_send_error_naming_only_the_host(self, dns):
        dns["hooks.example"] = ["169.254.169.254"]
        config = {"url": "https://hooks.example/T000/secret-path", "secret": "s" * 16}
        with pytest.raises(SendError) as caught:
            await send("webhook", config, {"title": "t"}, seconds=1)
        assert str(caught.value) == (
            "hooks.example is a cloud metadata address (169.254.169.254); it is not reachable"
        )
        assert "secret-path" not in str(caught.value)

    async def test_slack_is_checked_too(self, dns):
        dns["hooks.slack.example"] = ["fe80::7"]
        with pytest.raises(SendError, match="link-local"):
            await send("slack", {"url": "https://hooks.slack.example/x"}, {}, seconds=1)

    async def test_an_allowed_policy_lets_it_through(self, dns):
        dns["metadata.internal"] = ["169.254.169.254"]
        policy = OutboundPolicy.allowing(["169.254.169.254/32"])
        assert await policy.resolve("metadata.internal", 80)
