"""Run deploy/nginx/databasement.conf with the real nginx on loopback, for the gateway tests.

The config is used as shipped, with only its deployment-specific values swapped for the
test's: the listen ports, the certificate paths and the upstream's `server` line (one line
per api replica). A test certificate authority signs a certificate for 127.0.0.1 at run time.
"""

import datetime as dt
import ipaddress
import shutil
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.env import free_port

ROOT = Path(__file__).resolve().parents[3]
GATEWAY_CONF = ROOT / "deploy" / "nginx" / "databasement.conf"
START_TIMEOUT = 15.0

MAIN_CONF = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {run}/nginx.pid;
error_log {run}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format gateway '$status $request_method $uri upstream=$upstream_addr';
    access_log {run}/access.log gateway;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    include {run}/databasement.conf;
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).is_file()), None
    )


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "databasement test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(folder / "ca.crt", folder / "tls.crt", folder / "tls.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths


def _swap(text: str, old: str, new: str) -> str:
    """Replace `old` (which must be in the shipped config) by `new`."""
    if old not in text:
        raise AssertionError(f"deploy/nginx/databasement.conf no longer contains {old!r}")
    return text.replace(old, new)


def render_conf(
    *, upstreams: list[int], http_port: int, https_port: int, certificates: Certificates
) -> str:
    """The shipped config with the test's ports, certificate and api replicas."""
    text = GATEWAY_CONF.read_text()
    servers = "\n    ".join(
        f"server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in upstreams
    )
    text = _swap(text, "server api:8080 max_fails=3 fail_timeout=10s;", servers)
    text = _swap(text, "    listen [::]:80;\n", "")
    text = _swap(text, "    listen [::]:443 ssl;\n", "")
    text = _swap(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = _swap(text, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    text = _swap(text, "/etc/nginx/tls/tls.crt", str(certificates.cert))
    return _swap(text, "/etc/nginx/tls/tls.key", str(certificates.key))


@dataclass
class Gateway:
    """A running nginx: its HTTPS base URL and its files."""

    base_url: str
    run: Path
    certificates: Certificates
    process: subprocess.Popen[bytes]

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.certificates.ca))

    def access_log(self) -> str:
        return (self.run / "access.log").read_text(errors="replace")

    def error_log(self) -> str:
        return (self.run / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # nginx's graceful shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def nginx_argv(binary: str, run: Path) -> list[str]:
    """nginx with its prefix, config and early error log all under `run`."""
    return [binary, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log")]


def write_config(run: Path, *, upstreams: list[int], certificates: Certificates) -> tuple[int, int]:
    """Write nginx.conf and databasement.conf into `run`; returns (http, https) ports."""
    http_port, https_port = free_port(), free_port()
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / folder).mkdir(exist_ok=True)
    (run / "databasement.conf").write_text(
        render_conf(
            upstreams=upstreams,
            http_port=http_port,
            https_port=https_port,
            certificates=certificates,
        )
    )
    (run / "nginx.conf").write_text(MAIN_CONF.format(run=run))
    return http_port, https_port


def start_gateway(binary: str, run: Path, upstreams: list[int]) -> Gateway:
    """Check the config with `nginx -t`, then run nginx in the foreground until stopped."""
    run.mkdir(parents=True, exist_ok=True)
    certificates = make_certificates(run)
    _, https_port = write_config(run, upstreams=upstreams, certificates=certificates)
    argv = nginx_argv(binary, run)
    checked = subprocess.run([*argv, "-t"], capture_output=True, check=False, timeout=30)
    if checked.returncode != 0:
        raise AssertionError(f"nginx -t refused the config:\n{checked.stderr.decode()}")
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    gateway = Gateway(f"https://127.0.0.1:{https_port}", run, certificates, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{gateway.error_log()}")
        try:
            httpx.get(f"{gateway.base_url}/readyz", verify=gateway.tls_context(), timeout=2)
        except httpx.HTTPError:
            time.sleep(0.1)
        else:
            return gateway
    gateway.stop()
    raise RuntimeError(f"nginx did not answer within {START_TIMEOUT}s:\n{gateway.error_log()}")
