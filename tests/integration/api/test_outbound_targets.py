"""Outbound targets through the real api: link-local and metadata webhooks, Slack URLs and S3
endpoints are refused when saved (422) and, after resolution, when sent to; loopback works."""

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from services.api.outbound_http import post_pinned
from shared.outbound import STRICT, OutboundPolicy, OutboundRefusedError, OutboundSettings
from shared.specs import S3VolumeConfig
from shared.volumes import S3Volume, VolumeError

pytestmark = pytest.mark.integration

SECRET = "a-webhook-secret-of-16+"


class Receiver:
    """A loopback HTTP server that answers 200 and keeps each request's head."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = next(
            (
                int(line.split(":")[1])
                for line in head.split("\r\n")
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.heads.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


@pytest.fixture
def rebinding(monkeypatch) -> dict[str, str]:
    """Names whose lookup answers the given address: a DNS server under an attacker's control."""
    names: dict[str, str] = {}
    real = asyncio.BaseEventLoop.getaddrinfo

    async def getaddrinfo(loop, host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return await real(loop, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return names


async def add_channel(api, type_: str, config: dict):
    return await api.post(
        "/api/v1/notification-channels",
        json={"name": f"{type_}-x", "type": type_, "config": config},
    )


def s3_volume(endpoint: str) -> dict:
    config = {"endpoint": endpoint, "bucket": "backups", "access_key": "k", "secret_key": "s"}
    return {"name": "s3", "type": "s3", "config": config}


class TestWhenSaved:
    async def test_a_webhook_to_the_metadata_address_is_422(self, api):
        response = await add_channel(
            api, "webhook", {"url": "http://169.254.169.254/latest/meta-data", "secret": SECRET}
        )
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "url: 169.254.169.254 is a cloud metadata address (169.254.169.254); it is not "
            "reachable"
        )

    async def test_a_link_local_slack_url_is_422_without_its_secret_path(self, api):
        response = await add_channel(api, "slack", {"url": "https://[fe80::1]/services/T/B/XYZ"})
        assert response.status_code == 422
        assert "link-local" in response.json()["detail"]
        assert "XYZ" not in response.text

    async def test_changing_a_webhook_to_a_metadata_name_is_422(self, api, receiver):
        created = await add_channel(
            api, "webhook", {"url": f"http://localhost:{receiver.port}/in", "secret": SECRET}
        )
        assert created.status_code == 201, created.text
        response = await api.patch(
            f"/api/v1/notification-channels/{created.json()['id']}",
            json={"config": {"url": "http://metadata.google.internal/x", "secret": SECRET}},
        )
        assert response.status_code == 422
        assert "cloud metadata service" in response.json()["detail"]

    @pytest.mark.parametrize(
        "endpoint", ["169.254.169.254", "http://169.254.169.254:80/", "metadata.google.internal"]
    )
    async def test_an_s3_endpoint_at_the_metadata_service_is_422(self, api, endpoint):
        response = await api.post("/api/v1/volumes", json=s3_volume(endpoint))
        assert response.status_code == 422
        assert response.json()["detail"].startswith("endpoint: ")
        assert "is not reachable" in response.json()["detail"]

    async def test_loopback_endpoints_stay_allowed(self, api):
        response = await api.post("/api/v1/volumes", json=s3_volume("127.0.0.1:8333"))
        assert response.status_code == 201, response.text


class TestWhatTheOperatorAllows:
    @pytest.fixture
    def api_options(self) -> dict:
        return {"outbound": OutboundSettings(allow=["169.254.169.254/32"])}

    async def test_an_allowed_address_is_taken(self, api):
        response = await api.post("/api/v1/volumes", json=s3_volume("169.254.169.254"))
        assert response.status_code == 201, response.text


class TestWhenSent:
    async def test_a_loopback_webhook_is_delivered_under_its_name(self, api, receiver):
        created = await add_channel(
            api, "webhook", {"url": f"http://localhost:{receiver.port}/in", "secret": SECRET}
        )
        tested = await api.post(f"/api/v1/notification-channels/{created.json()['id']}/test")
        assert tested.json() == {"ok": True, "error": None}
        [head] = receiver.heads
        assert head.startswith("POST /in HTTP/1.1")
        assert f"host: localhost:{receiver.port}" in head.lower()

    async def test_a_name_rebound_to_the_metadata_address_is_refused(
        self, api, receiver, rebinding
    ):
        """Saved while the name looked harmless; its lookup now says 169.254.169.254."""
        created = await add_channel(
            api, "webhook", {"url": f"http://hooks.example:{receiver.port}/in", "secret": SECRET}
        )
        assert created.status_code == 201, created.text
        rebinding["hooks.example"] = "169.254.169.254"
        tested = await api.post(f"/api/v1/notification-channels/{created.json()['id']}/test")
        assert tested.json() == {
            "ok": False,
            "error": "hooks.example is a cloud metadata address (169.254.169.254); it is not "
            "reachable",
        }
        assert receiver.heads == []


class RefusingLoopback(OutboundPolicy):
    """A policy that refuses loopback: the one address a test can really connect to."""

    def check_address(self, host: str, address) -> None:
        if address.is_loopback:
            raise OutboundRefusedError(f"{host} is a refused address ({address})")
        super().check_address(host, address)


class TestS3ConnectionsAreCheckedWhereTheyLand:
    async def test_the_connected_address_is_checked_not_the_name(self, receiver):
        config = S3VolumeConfig(
            endpoint=f"localhost:{receiver.port}",
            bucket="backups",
            access_key="k",
            secret_key=SecretStr("s"),
            secure=False,
            region="us-east-1",
        )
        volume = S3Volume(config, outbound=RefusingLoopback())
        with pytest.raises(VolumeError) as caught:
            await volume.exists("x")
        assert str(caught.value) == (
            f"volume refused: localhost is a refused address ({ipaddress.ip_address('127.0.0.1')})"
        )
        assert receiver.heads == []
        with contextlib.suppress(VolumeError):  # the same volume with the real policy connects
            await S3Volume(config).exists("x")
        assert receiver.heads


def localhost_only_certificate(directory) -> tuple:
    """A self-signed certificate for the name `localhost` only: not valid for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class TestHttpsThroughACheckedAddress:
    async def test_the_certificate_is_verified_for_the_name(self, tmp_path):
        """Connecting to the checked address keeps TLS as it was: SNI and the certificate
        check use the URL's name, and the Host header carries it."""
        cert_file, key_file = localhost_only_certificate(tmp_path)
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(cert_file, key_file)
        receiver = Receiver()
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=served)
        port = server.sockets[0].getsockname()[1]
        trusted = ssl.create_default_context(cafile=str(cert_file))
        async with server, httpx.AsyncClient(verify=trusted) as client:
            response = await post_pinned(
                client, f"https://localhost:{port}/in", STRICT, content=b"{}"
            )
            # The address alone would not pass the certificate check: the name was used.
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(f"https://127.0.0.1:{port}/in", content=b"{}")
        assert response.status_code == 200
        [head] = receiver.heads
        assert f"host: localhost:{port}" in head.lower()
