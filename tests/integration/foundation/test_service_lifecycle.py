"""Each service starts with one command, reports ready, and stops on SIGTERM within 10 s."""

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitMessage

from shared.events import BackupRequested, Destination, utc_now
from shared.messaging import publish_event
from shared.topology import Topology, declare_topology
from tests.integration.foundation.conftest import broker_settings, eventually, make_broker
from tests.support.stack import SERVICES, stack_env

pytestmark = pytest.mark.integration

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
GRACEFUL_EXIT_CODES = (0, -signal.SIGTERM)
"""uvicorn re-raises the SIGTERM it trapped once shutdown is complete (the Unix convention)."""


def start(service: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} while starting:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"not ready after {READY_TIMEOUT}s:\n{log.read_text()}")


def terminate(process: subprocess.Popen[bytes]) -> float:
    """Send SIGTERM; return how long the process took to exit (kill it past the limit)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float("inf")
    return time.monotonic() - started


class TestServiceProcess:
    @pytest.mark.parametrize("service", SERVICES)
    def test_starts_reports_ready_and_stops_on_sigterm(
        self, service, namespace, pg_database, tmp_path
    ):
        env = stack_env(namespace=namespace, database_url=pg_database, staging=tmp_path / "st")
        port = int(env[f"{service.upper()}_HTTP_PORT"])
        log = tmp_path / f"{service}.log"
        process = start(service, env, log)
        try:
            wait_ready(process, port, log)
            for path in ("/healthz", "/readyz", "/metrics"):
                response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
                assert response.status_code == 200, (path, response.text)
            assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        finally:
            elapsed = terminate(process)

        output = log.read_text()
        assert elapsed < STOP_TIMEOUT, output
        assert process.returncode in GRACEFUL_EXIT_CODES, output
        assert '"service_stopped"' in output
        assert "Traceback" not in output

    def test_migrate_command_applies_migrations_and_exits(
        self, namespace, empty_pg_database, tmp_path
    ):
        env = stack_env(
            namespace=namespace, database_url=empty_pg_database, staging=tmp_path / "st"
        )

        result = subprocess.run(
            [sys.executable, "-m", "services.catalog", "migrate"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )

        assert result.returncode == 0, result.stderr.decode()
        assert b'"migrations_done"' in result.stderr
        assert b'"applied": []' not in result.stderr
        again = subprocess.run(
            [sys.executable, "-m", "services.catalog", "migrate"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 0
        assert b'"applied": []' in again.stderr


def backup_requested() -> BackupRequested:
    return BackupRequested(
        snapshot_id=uuid4(),
        server_id=uuid4(),
        server_name="s",
        server_type="postgresql",
        database="d",
        connection="sealed",
        destination=Destination(
            volume_id=uuid4(), volume="sealed", artifact_key="s/d/a.sql.gz", compression="gzip"
        ),
        requested_at=utc_now(),
    )


class TestGracefulStop:
    """What happens to the message in hand when a consuming service is told to stop."""

    async def test_a_message_in_hand_past_the_graceful_timeout_is_requeued(
        self, rabbit_url, namespace
    ):
        topology = Topology(namespace, delivery_limit=5)
        stopping = make_broker(broker_settings(rabbit_url, namespace, graceful_timeout=0.5))
        started, release = asyncio.Event(), asyncio.Event()

        @stopping.subscriber(
            topology.queue("dumper"), topology.events, ack_policy=AckPolicy.NACK_ON_ERROR
        )
        async def slow(body: dict[str, object]) -> None:
            started.set()
            await release.wait()

        event = backup_requested()
        await stopping.start()
        await declare_topology(stopping, topology)
        await publish_event(stopping, topology, event)
        await asyncio.wait_for(started.wait(), timeout=10)
        began = time.monotonic()
        await stopping.stop()
        stop_took = time.monotonic() - began
        release.set()

        replacement = make_broker(broker_settings(rabbit_url, namespace))
        received: list[tuple[str, bool]] = []

        @replacement.subscriber(
            topology.queue("dumper"), topology.events, ack_policy=AckPolicy.NACK_ON_ERROR
        )
        async def record(body: dict[str, object], message: RabbitMessage) -> None:
            received.append((str(body["event_id"]), message.raw_message.redelivered))

        async def so_far() -> list[tuple[str, bool]]:
            return received

        async with replacement:
            await replacement.start()
            await eventually(so_far, bool)

        assert stop_took < 5
        assert received == [(str(event.event_id), True)]

    async def test_a_message_finished_within_the_graceful_timeout_is_not_redelivered(
        self, rabbit_url, namespace, amqp
    ):
        topology = Topology(namespace, delivery_limit=5)
        broker = make_broker(broker_settings(rabbit_url, namespace, graceful_timeout=5))
        started, finished = asyncio.Event(), asyncio.Event()

        @broker.subscriber(
            topology.queue("dumper"), topology.events, ack_policy=AckPolicy.NACK_ON_ERROR
        )
        async def quick(body: dict[str, object]) -> None:
            started.set()
            await asyncio.sleep(0.5)
            finished.set()

        await broker.start()
        await declare_topology(broker, topology)
        await publish_event(broker, topology, backup_requested())
        await asyncio.wait_for(started.wait(), timeout=10)
        await broker.stop()

        assert finished.is_set()
        queue = await amqp.get_queue(topology.queue("dumper").name, ensure=True)
        assert await queue.get(no_ack=True, fail=False) is None
