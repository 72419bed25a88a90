"""Where the test servers are: the environment when set, else the local services."""

import os
import shutil
import socket
import subprocess
from urllib.parse import urlsplit

DEFAULTS = {
    "TEST_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "TEST_MARIADB_URL": "mysql://root:@127.0.0.1:3306/",
}


def url_for(name: str) -> str:
    """The URL of a test server: `$name` when set, else the local default."""
    return os.environ.get(name) or DEFAULTS[name]


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout):
            return True
    except OSError:
        return False


def docker_answers() -> bool:
    """True when a Docker engine answers, so testcontainers may start servers."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=10)
    return result.returncode == 0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
