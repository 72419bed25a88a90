"""The faults, injected one after another in a cycle while the backup stream runs.

Every fault undoes itself (a killed replica is started again, a stopped server comes back,
the disk is freed, the proxy reopens), so the product has to recover, not just fail.
"""

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.faults.harness import Harness

DOWN_FOR = 3.0
"""Seconds RabbitMQ and PostgreSQL stay stopped before they start again."""
STAGING_FULL_FOR = 8.0
WAIT_FOR_WORK = 8.0
"""Seconds a fault waits for a snapshot in flight before it strikes anyway."""
RESTART_AFTER = 1.0
"""Seconds a SIGKILLed replica stays dead."""


@dataclass
class Fault:
    """One fault as it happened."""

    name: str
    started: float
    ended: float = 0.0
    note: str = ""
    in_flight: int | None = None
    """Accepted snapshots not yet terminal in the catalog when the fault began."""


async def kill_replica(harness: Harness, service: str) -> str:
    """SIGKILL one replica of `service` chosen at random, then start a new one."""
    stack = harness.stack
    victim = random.choice(stack.processes[service])
    victim.send_signal(signal.SIGKILL)
    await asyncio.to_thread(victim.wait, 10)
    stack.processes[service].remove(victim)
    await asyncio.sleep(RESTART_AFTER)
    replica = _next_replica(harness, service)
    await asyncio.to_thread(stack.start, service, replica=replica)
    return f"pid {victim.pid} killed, replica {replica} started"


def _next_replica(harness: Harness, service: str) -> int:
    """A fresh replica number: its own log file and HTTP port."""
    used = [int(p.stem.rsplit("-", 1)[1]) for p in harness.stack.log_dir.glob(f"{service}-*.log")]
    return max(used, default=0) + 1


async def restart_rabbitmq(harness: Harness) -> str:
    await asyncio.to_thread(harness.rabbit.stop)
    await asyncio.sleep(DOWN_FOR)
    await asyncio.to_thread(harness.rabbit.start)
    return f"private node down {DOWN_FOR:g} s, restarted"


async def restart_postgres(harness: Harness) -> str:
    await asyncio.to_thread(harness.postgres.stop)
    await asyncio.sleep(DOWN_FOR)
    await asyncio.to_thread(harness.postgres.start)
    return f"private cluster down {DOWN_FOR:g} s (fast shutdown), restarted"


async def fill_staging(harness: Harness) -> str:
    if not await asyncio.to_thread(harness.staging.fill):
        return f"not injected: staging is a {harness.staging.kind}"
    await asyncio.sleep(STAGING_FULL_FOR)
    harness.staging.free()
    return f"{harness.staging.kind} full for {STAGING_FULL_FOR:g} s, freed"


async def s3_outage(harness: Harness) -> str:
    await harness.s3_proxy.close()
    await asyncio.sleep(harness.settings.s3_outage)
    await harness.s3_proxy.open()
    return f"S3 proxy closed (connections cut and refused) for {harness.settings.s3_outage:g} s"


CYCLE: tuple[tuple[str, Callable[[Harness], Awaitable[str]]], ...] = (
    ("kill -9 dumper", lambda h: kill_replica(h, "dumper")),
    ("restart RabbitMQ", restart_rabbitmq),
    ("kill -9 uploader", lambda h: kill_replica(h, "uploader")),
    ("S3 unreachable", s3_outage),
    ("restart PostgreSQL", restart_postgres),
    ("kill -9 dumper", lambda h: kill_replica(h, "dumper")),
    ("fill staging disk", fill_staging),
    ("kill -9 uploader", lambda h: kill_replica(h, "uploader")),
)


async def inject(
    harness: Harness, index: int, in_flight: Callable[[], Awaitable[int | None]]
) -> Fault:
    """Fault number `index` of the cycle, aimed at live work: one that hits an idle system
    proves little, so it waits a moment for a snapshot in flight."""
    name, action = CYCLE[index % len(CYCLE)]
    busy = await _wait_for_work(in_flight)
    fault = Fault(name, started=time.monotonic(), in_flight=busy)
    fault.note = await action(harness)
    fault.ended = time.monotonic()
    return fault


async def _wait_for_work(in_flight: Callable[[], Awaitable[int | None]]) -> int | None:
    """How many snapshots are in flight, waiting a little for at least one."""
    deadline = time.monotonic() + WAIT_FOR_WORK
    while True:
        busy = await in_flight()
        if busy is None or busy > 0 or time.monotonic() > deadline:
            return busy
        await asyncio.sleep(0.2)
