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
RESTART_AFTER = 1.0
"""Seconds a SIGKILLed replica stays dead."""


@dataclass
class Fault:
    """One fault as it happened."""

    name: str
    started: float
    ended: float = 0.0
    note: str = ""


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
    ("kill -9 uploader", lambda h: kill_replica(h, "uploader")),
    ("restart RabbitMQ", restart_rabbitmq),
    ("kill -9 dumper", lambda h: kill_replica(h, "dumper")),
    ("restart PostgreSQL", restart_postgres),
    ("fill staging disk", fill_staging),
    ("kill -9 uploader", lambda h: kill_replica(h, "uploader")),
    ("S3 unreachable", s3_outage),
)


async def inject_faults(harness: Harness, stream_done: asyncio.Event) -> list[Fault]:
    """Run the cycle (at least once) until the stream has sent every request."""
    faults: list[Fault] = []
    index = 0
    while index < len(CYCLE) or not stream_done.is_set():
        await asyncio.sleep(harness.settings.fault_period)
        name, inject = CYCLE[index % len(CYCLE)]
        fault = Fault(name, started=time.monotonic())
        faults.append(fault)
        fault.note = await inject(harness)
        fault.ended = time.monotonic()
        index += 1
    return faults
