"""`make scale`: throughput with 1, 2 and 4 replicas each of dumper and uploader.

For each replica count it starts a stack of its own on this machine (one api, one catalog,
N dumpers, N uploaders; its own broker namespace and service database), asks for backups of
SCALE_DATABASES small PostgreSQL databases at once (default 40, SCALE_ROWS rows each, built
by the script and dropped at the end), and waits until every snapshot is terminal. It prints
one row per replica count: backups per minute, MB/s (dumped and stored), the peak queue
depths, and per-stage figures from the services' /metrics (messages handled per second and
the handlers' busy time); then each round's queue depths over time.

Every source lives on one PostgreSQL server, so the per-server limit (DUMPER_SERVER_CONCURRENCY,
default 1) would serialise the dumps whatever the replica count: the run raises it to the
largest replica count. Settable: SCALE_REPLICAS (default "1,2,4"), SCALE_DATABASES (40),
SCALE_ROWS (40000), SCALE_TIMEOUT (seconds per round, 900).
"""

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.scale_probe import DepthSeries, HandlerTotals, difference, scrape, stage
from tests.fixtures.resources import delete_namespace
from tests.support.stack import Stack, stack_env, start_stack

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REPLICAS = [int(n) for n in os.environ.get("SCALE_REPLICAS", "1,2,4").split(",") if n]
DATABASES = int(os.environ.get("SCALE_DATABASES", "40"))
ROWS = int(os.environ.get("SCALE_ROWS", "40000"))
TIMEOUT = float(os.environ.get("SCALE_TIMEOUT", "900"))
MB = 1_000_000
TERMINAL = {"completed", "failed"}


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def make_sources(prefix: str) -> list[str]:
    """SCALE_DATABASES databases of one table each: ids, digests and some repeated text."""
    names = [f"{prefix}_{i:02d}" for i in range(DATABASES)]
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
            conn = await asyncpg.connect(pg_url(name))
            try:
                await conn.execute(
                    "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS digest, "
                    "repeat(md5((g * 7)::text), 3) AS body, now() AS at "
                    f"FROM generate_series(1, {ROWS}) g"
                )
            finally:
                await conn.close()
    finally:
        await admin.close()
    return names


async def drop_databases(names: list[str]) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Round:
    replicas: int
    snapshots: list[dict[str, Any]]
    depths: DepthSeries
    stages: dict[str, HandlerTotals]
    load: float
    cpu: "CpuUse"

    @property
    def wall(self) -> float:
        """From the first request accepted to the last snapshot finished (server clocks)."""
        begun = min(s["created_at"] for s in self.snapshots)
        ended = max(s["finished_at"] or s["created_at"] for s in self.snapshots)
        return max((ended - begun).total_seconds(), 1e-3)

    def spread(self, start: str, end: str) -> float:
        """The median of `end - start` over the snapshots that have both, in seconds."""
        spans = [(s[end] - s[start]).total_seconds() for s in self.snapshots if s[start] and s[end]]
        return statistics.median(spans) if spans else 0.0

    @property
    def accepting(self) -> float:
        """How long the api took to accept every request (first to last created_at)."""
        created = [s["created_at"] for s in self.snapshots]
        return (max(created) - min(created)).total_seconds()

    def count(self, status: str) -> int:
        return sum(1 for s in self.snapshots if s["status"] == status)

    def megabytes(self, key: str) -> float:
        return sum(s.get(key) or 0 for s in self.snapshots) / MB


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds: the whole machine's (busy and total) and the stack's own processes'
    (their reaped children, the dump tools, included). The database server's are not."""

    machine_busy: float
    machine_total: float
    stack: float

    @classmethod
    def now(cls, stack: Stack) -> "CpuUse":
        times = psutil.cpu_times()
        total = sum(times)
        idle = times.idle + getattr(times, "iowait", 0.0)
        own = 0.0
        for processes in stack.processes.values():
            for process in processes:
                t = psutil.Process(process.pid).cpu_times()
                own += t.user + t.system + t.children_user + t.children_system
        return cls(total - idle, total, own)

    def minus(self, before: "CpuUse") -> "CpuUse":
        return CpuUse(
            self.machine_busy - before.machine_busy,
            self.machine_total - before.machine_total,
            self.stack - before.stack,
        )

    @property
    def busy_share(self) -> float:
        return self.machine_busy / self.machine_total if self.machine_total else 0.0


def listening_port(pid: int) -> int:
    ports = [
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]
    return ports[0]


def start(replicas: int, root: Path, namespace: str, database_url: str) -> Stack:
    env = stack_env(
        namespace=namespace,
        database_url=database_url,
        staging=root / "staging",
        extra={
            "DUMPER_SERVER_CONCURRENCY": str(max(REPLICAS)),
            "CATALOG_PROGRESS_TIMEOUT": "300",
            "API_RETENTION_INTERVAL": "0",
        },
    )
    stack = start_stack(env, root / "logs")
    for replica in range(1, replicas):
        for service in ("dumper", "uploader"):
            stack.start(service, replica=replica)
    return stack


def metric_ports(stack: Stack) -> list[int]:
    return [
        listening_port(p.pid)
        for service in ("dumper", "uploader", "catalog")
        for p in stack.processes[service]
    ]


async def wait_terminal(api: httpx.AsyncClient, server_id: str, total: int) -> list[dict]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        page = await api.get("/api/v1/snapshots", params={"server_id": server_id, "limit": 500})
        items = page.json()["items"]
        if len(items) >= total and all(s["status"] in TERMINAL for s in items):
            return items
        if time.monotonic() > deadline:
            raise RuntimeError(f"round not finished after {TIMEOUT:g} s")
        await asyncio.sleep(1.0)


async def run_round(replicas: int, sources: list[str]) -> Round:
    tag = uuid4().hex[:8]
    namespace, service_db = f"scale_{tag}", f"dbm_scale_svc_{tag}"
    root = Path(tempfile.mkdtemp(prefix=f"dbm-scale-{replicas}-"))
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{service_db}"')
    await admin.close()
    stack = await asyncio.to_thread(start, replicas, root, namespace, pg_url(service_db))
    try:
        async with httpx.AsyncClient(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=60
        ) as api:
            server = (
                await api.post(
                    "/api/v1/servers",
                    json={
                        "name": f"scale-{tag}",
                        "type": "postgresql",
                        "host": "127.0.0.1",
                        "port": 5432,
                        "username": "postgres",
                        "password": "trust-auth",
                    },
                )
            ).json()
            (root / "volume").mkdir()
            volume = (
                await api.post(
                    "/api/v1/volumes",
                    json={
                        "name": f"v-{tag}",
                        "type": "local",
                        "config": {"path": str(root / "volume")},
                    },
                )
            ).json()
            ports = metric_ports(stack)
            before = await scrape(ports)
            depths = DepthSeries([f"{namespace}.{q}" for q in ("dumper", "uploader", "catalog")])
            done = asyncio.Event()
            sampler = asyncio.create_task(depths.sample_until(RABBIT, done, interval=1.0))
            load = os.getloadavg()[0]
            cpu_before = CpuUse.now(stack)
            answers = await asyncio.gather(
                *(
                    api.post(
                        "/api/v1/backups",
                        json={
                            "server_id": server["id"],
                            "database": name,
                            "volume_id": volume["id"],
                        },
                    )
                    for name in sources
                )
            )
            refused = [a.text for a in answers if a.status_code != 202]
            if refused:
                raise RuntimeError(f"backups refused: {refused[:3]}")
            snapshots = await wait_terminal(api, server["id"], len(sources))
            done.set()
            await sampler
            stages = difference(await scrape(ports), before)
            cpu = CpuUse.now(stack).minus(cpu_before)
    finally:
        await asyncio.to_thread(stack.stop)
        await delete_namespace(RABBIT, namespace)
        await drop_databases([service_db])
        shutil.rmtree(root, ignore_errors=True)
    for snapshot in snapshots:
        for key in ("created_at", "started_at", "finished_at"):
            if snapshot.get(key):
                snapshot[key] = _parse(snapshot[key])
    return Round(replicas, snapshots, depths, stages, load, cpu)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def report(rounds: list[Round]) -> None:
    header = (
        f"{'replicas':>8} {'done':>5} {'failed':>6} {'wall s':>7} {'backups/min':>11} "
        f"{'dumped MB/s':>11} {'stored MB/s':>11} {'peak d/u/c':>11} "
        f"{'dumper/s':>8} {'busy':>5} {'upl msg/s':>9} {'in flight':>9} {'catalog/s':>9} "
        f"{'load1':>5} {'cpu busy':>8} {'cpu-s/backup':>12}"
    )
    print("\n" + header)
    for r in rounds:
        dumper = stage(r.stages, "dumper", "backup.requested")
        uploader = stage(r.stages, "uploader")
        catalog = stage(r.stages, "catalog")
        print(
            f"{r.replicas:>8} {r.count('completed'):>5} {r.count('failed'):>6} {r.wall:>7.1f} "
            f"{60 * len(r.snapshots) / r.wall:>11.1f} "
            f"{r.megabytes('bytes_dumped') / r.wall:>11.2f} {r.megabytes('size') / r.wall:>11.2f} "
            f"{'/'.join(str(p) for p in r.depths.peaks()):>11} "
            f"{dumper.messages / r.wall:>8.2f} {dumper.seconds / r.wall / r.replicas:>5.0%} "
            f"{uploader.messages / r.wall:>9.1f} {uploader.seconds / r.wall:>9.2f} "
            f"{catalog.messages / r.wall:>9.1f} {r.load:>5.1f} {r.cpu.busy_share:>8.0%} "
            f"{r.cpu.stack / len(r.snapshots):>12.2f}"
        )
    print(
        "\nbusy: share of the dumpers' time inside a backup handler; in flight: uploader "
        "handlers running at once on average (prefetch lets each replica hold several);\n"
        "cpu busy: the machine's cores busy during the round (every process, ours or not); "
        "cpu-s/backup: CPU of the stack's processes and their dump tools per backup.\n"
        "Queue depth (ready messages dumper/uploader/catalog) over each round:"
    )
    for r in rounds:
        print(f"  {r.replicas} replica(s): {r.depths.timeline()}")
    print("Where a backup's time goes (medians, s): accepted over / waiting / running:")
    for r in rounds:
        waiting = r.spread("created_at", "started_at")
        running = r.spread("started_at", "finished_at")
        print(f"  {r.replicas} replica(s): {r.accepting:.1f} / {waiting:.1f} / {running:.1f}")
    for r in rounds:
        for s in r.snapshots:
            if s["status"] == "failed":
                print(f"  failed with {r.replicas} replica(s): {s['database']}: {s['error']}")


async def main() -> None:
    prefix = f"dbm_scale_src_{uuid4().hex[:6]}"
    print(f"scale: building {DATABASES} databases of {ROWS} rows", flush=True)
    sources = await make_sources(prefix)
    rounds = []
    try:
        for replicas in REPLICAS:
            print(f"scale: {replicas} dumper + {replicas} uploader replica(s)...", flush=True)
            rounds.append(await run_round(replicas, sources))
            report(rounds[-1:])
    finally:
        await drop_databases(sources)
    print("\n== make scale ==")
    report(rounds)


if __name__ == "__main__":
    asyncio.run(main())
