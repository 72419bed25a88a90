"""Real local receivers for notifications: an SMTP server (aiosmtpd) that requires STARTTLS
and AUTH, and an HTTP server that checks each webhook's HMAC-SHA256 signature itself."""

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER = "databasement"
SMTP_PASSWORD = "smtp-test-password"


def self_signed(directory: Path) -> tuple[Path, Path, str]:
    """(cert file, key file, cert PEM) of a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


class BackloggedServer(ThreadingHTTPServer):
    # The default backlog of 5 resets connections past it while the accepting thread waits
    # for a core (a loaded machine); a dispatcher sends a batch at once.
    request_queue_size = 128


class MailBox:
    """aiosmtpd's handler: keeps every accepted message, and whether its session had logged in."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.authenticated: list[bool] = []

    async def handle_DATA(self, _server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.authenticated.append(bool(session.authenticated))
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


def start_smtp(port: int, cert_file: Path, key_file: Path) -> tuple[Controller, MailBox]:
    """An SMTP server on 127.0.0.1:`port` refusing mail before STARTTLS and AUTH."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    box = MailBox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    return controller, box


@dataclass
class Received:
    """One webhook request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class WebhookReceiver:
    """An HTTP server that records POSTs and checks `X-Databasement-Signature` itself."""

    secret: str
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                expected = hmac.new(
                    receiver.secret.encode(),
                    headers.get("x-databasement-timestamp", "").encode() + b"." + body,
                    hashlib.sha256,
                ).hexdigest()
                ok = hmac.compare_digest(
                    "sha256=" + expected, headers.get("x-databasement-signature", "")
                )
                receiver.received.append(Received(headers, body, ok))
                self.send_response(200 if ok else 401)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = BackloggedServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def start_url(self) -> str:
        """The URL the receiver listens on (it was started by the fixture)."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of_kind(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.json().get("kind") == kind]
