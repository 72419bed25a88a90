"""A private RabbitMQ node on free loopback ports, that a fault test may stop and restart.

The machine's own RabbitMQ (5672) is shared by everyone's tests and must never be touched;
this node has its own name, ports, data and log directories, and reads neither
/etc/rabbitmq/rabbitmq.conf nor rabbitmq-env.conf (their listener would clash). epmd is
shared, which is fine: it only maps node names to ports. Data survives a restart, so
durable queues and persistent messages come back, as they would in production.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.env import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def rabbit_available() -> bool:
    return Path(SERVER).is_file()


class PrivateRabbit:
    """`rabbitmq-server` in its own process group with guest/guest on 127.0.0.1:`port`."""

    def __init__(
        self, root: Path | None = None, *, config: str = "", advanced_config: str = "[]."
    ) -> None:
        """`config` adds rabbitmq.conf lines; `advanced_config` is advanced.config's term."""
        self.root = root or Path(tempfile.mkdtemp(prefix="dbm-rabbit-"))
        self.config = config
        self.advanced_config = advanced_config
        self.name = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        (self.root / "rabbitmq.conf").write_text(f"loopback_users = none\n{self.config}\n")
        (self.root / "advanced.config").write_text(f"{self.advanced_config}\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        (self.root / "enabled_plugins").write_text("[].\n")
        return {
            **os.environ,
            "HOME": str(self.root),  # the Erlang cookie lives here, not in ~root
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbit.pid"),
        }

    def start(self) -> None:
        """Start the node and return once it accepts AMQP connections."""
        log = (self.root / "server.out").open("ab")
        self.process = subprocess.Popen(
            [SERVER],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # stop() signals the whole group: beam and its helpers
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited; see {self.root / 'server.out'}")
            if _amqp_answers(self.port):
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"rabbitmq-server not ready after {START_TIMEOUT}s")

    def stop(self) -> None:
        """A graceful stop (SIGTERM, as systemd does); SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
        # epmd may still map the name for a moment; a restart under it must not race.
        time.sleep(0.5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _amqp_answers(port: int) -> bool:
    """True once the listener speaks AMQP (the port opens only when the broker is booted)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return sock.recv(8)[:1] == b"\x01"  # a Connection.Start frame
    except OSError:
        return False


def short_consumer_timeout(milliseconds: int) -> PrivateRabbit:
    """A node whose consumer timeout is `milliseconds`, checked about every 0.5 s.

    RabbitMQ checks the timeout on each channel's tick (channel_tick_interval, 60 s by
    default), so a short timeout needs a short tick too to fire when expected.
    """
    return PrivateRabbit(
        config=f"consumer_timeout = {milliseconds}",
        advanced_config="[{rabbit, [{channel_tick_interval, 500}]}].",
    )
