"""`make bench`: Databasement against `dump | gzip -6` and the raw dump, side by side.

For each database (PostgreSQL and MariaDB) and each size, it times, with medians over
repeats:
  (a) the reference product: `dump | gzip -6 > file`, then copying the file into the volume;
  (b) the raw dump alone: `dump > /dev/null`;
  (c) Databasement with gzip, from the POST until the snapshot is completed;
  (d) Databasement with zstd.
It prints the times, the ratios (c)/(a), (c)/(b), (d)/(b), the compressed sizes, and the
dumper's and uploader's peak RSS. Databases are built once and reused between runs.
Then, on the same stack, a restore of the largest PostgreSQL gzip snapshot against plain
`gunzip -c | psql` (scripts/bench_restore.py: (g), (h)), and the control plane
(scripts/bench_api.py): (e) the first page of GET /api/v1/snapshots with filters over
100,000 records, (f) POST /api/v1/backups p99 at 200 req/s from a second process.

Sizes are settable: BENCH_PG_SCALES (pgbench scale factors, default "10,140"),
BENCH_MARIA_ROWS (default "400000,5000000"), BENCH_REPEATS (default 2).
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bench_api import run_api_benchmarks
from scripts.bench_restore import report_restore, run_restore_benchmark
from tests.fixtures.resources import delete_namespace
from tests.support.stack import Stack, stack_env, start_stack

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIA = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
PG_SCALES = [int(s) for s in os.environ.get("BENCH_PG_SCALES", "10,140").split(",") if s]
MARIA_ROWS = [int(s) for s in os.environ.get("BENCH_MARIA_ROWS", "400000,5000000").split(",") if s]
VAR = Path("var/bench")
MIB = 1024 * 1024


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def ensure_pg(scale: int) -> str:
    """pgbench tables at `scale` plus a text table of mixed words, built once."""
    name = f"dbm_bench_pg_{scale}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return name
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    print(f"bench: building PostgreSQL database {name} (pgbench -s {scale}) once", flush=True)
    await asyncio.to_thread(
        subprocess.run, ["pgbench", "-i", "-q", "-s", str(scale), "-d", pg_url(name)], check=True
    )
    conn = await asyncpg.connect(pg_url(name))
    try:
        await conn.execute(
            f"""
            CREATE TABLE notes AS
            SELECT g AS id, md5(g::text) || ' ' || md5((g * 7)::text) AS digest,
                   (ARRAY['alpha','beta','gamma','delta','epsilon'])[1 + g % 5]
                       || ' note ' || g AS words,
                   (g * 1.37)::numeric(14, 2) AS amount, now() - g * interval '1 minute' AS at
            FROM generate_series(1, {scale * 11500}) AS g
            """
        )
    finally:
        await conn.close()
    return name


def ensure_maria(rows: int) -> str:
    name = f"dbm_bench_maria_{rows}"
    conn = pymysql.connect(**MARIA, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_ROWS FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'items'",
            (name,),
        )
        found = cur.fetchone()
        if found and found[0]:  # an interrupted build left an empty table: build again
            return name
        print(f"bench: building MariaDB database {name} ({rows} rows) once", flush=True)
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"USE `{name}`")  # the seq_1_to_N tables exist only inside a database
        cur.execute(
            f"""CREATE TABLE `{name}`.items (id BIGINT PRIMARY KEY, n INT, price DECIMAL(12,2),
                ratio DOUBLE, at DATETIME, label VARCHAR(64), payload TEXT) ENGINE=InnoDB"""
        )
        step = 500_000
        for start in range(1, rows + 1, step):
            end = min(rows, start + step - 1)
            cur.execute(
                f"""INSERT INTO `{name}`.items
                SELECT seq, seq % 1000, seq * 0.37, seq / 7, '2024-01-01' + INTERVAL seq SECOND,
                       CONCAT('label-', seq % 977),
                       CONCAT(MD5(seq), ' ', SHA1(seq), ' words of text')
                FROM seq_{start}_to_{end}"""
            )
    return name


def dump_argv(kind: str, database: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ}
    if kind == "postgresql":
        return ["pg_dump", "--format=plain", "-d", pg_url(database)], env
    env["MYSQL_PWD"] = MARIA["password"]
    tool = shutil.which("mariadb-dump") or "mysqldump"
    return [
        tool,
        "-h",
        "127.0.0.1",
        "-u",
        "root",
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        database,
    ], env


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def reference(kind: str, database: str, volume: Path) -> tuple[float, int]:
    """(a): dump | gzip -6 > file, then the file copied into the volume."""
    argv, env = dump_argv(kind, database)
    with tempfile.TemporaryDirectory(dir=VAR) as tmp:
        target = Path(tmp) / "dump.sql.gz"

        def run() -> None:
            with target.open("wb") as out:
                dump = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
                subprocess.run(["gzip", "-6"], stdin=dump.stdout, stdout=out, check=True)
                if dump.wait() != 0:
                    raise SystemExit("bench: the reference dump failed")
            shutil.copyfile(target, volume / "reference.sql.gz")

        seconds = timed(run)
        return seconds, (volume / "reference.sql.gz").stat().st_size


def raw_dump(kind: str, database: str) -> float:
    """(b): the dump tool alone, to /dev/null."""
    argv, env = dump_argv(kind, database)
    return timed(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True))


class RssWatch(threading.Thread):
    """Peak RSS of each service's processes while a measurement runs."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.peak: dict[str, int] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for service in ("dumper", "uploader"):
                for proc in self.stack.processes.get(service, []):
                    try:
                        rss = psutil.Process(proc.pid).memory_info().rss
                    except psutil.Error:
                        continue
                    self.peak[service] = max(self.peak.get(service, 0), rss)
            time.sleep(0.05)


def databasement(
    api: httpx.Client, server_id: str, volume_id: str, database: str, compression: str
) -> tuple[float, dict[str, Any]]:
    """(c)/(d): from the POST until the snapshot is completed; (seconds, the snapshot)."""
    start = time.perf_counter()
    response = api.post(
        "/api/v1/backups",
        json={
            "server_id": server_id,
            "database": database,
            "volume_id": volume_id,
            "compression": compression,
        },
    )
    response.raise_for_status()
    snapshot_id = response.json()["snapshots"][0]["id"]
    while True:
        snapshot = api.get(f"/api/v1/snapshots/{snapshot_id}").json()
        if snapshot["status"] in {"completed", "failed"}:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if snapshot["status"] != "completed":
        raise SystemExit(f"bench: backup failed: {snapshot.get('error')}")
    return seconds, snapshot


def measure(stack: Stack, kind: str, database: str, volume: Path) -> dict[str, object]:
    api = httpx.Client(
        base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {stack.token}"}
    )
    server = api.post(
        "/api/v1/servers",
        json={
            "name": f"bench-{kind}-{database}-{time.time_ns()}",
            "type": kind,
            "host": "127.0.0.1",
            "port": 5432 if kind == "postgresql" else 3306,
            "username": "postgres" if kind == "postgresql" else "root",
            "password": "",
        },
    ).json()
    vol = api.post(
        "/api/v1/volumes",
        json={
            "name": f"bench-{time.time_ns()}",
            "type": "local",
            "config": {"path": str(volume.resolve())},
        },
    ).json()
    times: dict[str, list[float]] = {"a": [], "b": [], "c": [], "d": []}
    sizes: dict[str, int] = {}
    watch = RssWatch(stack)
    watch.start()
    for _ in range(REPEATS):
        seconds, sizes["a"] = reference(kind, database, volume)
        times["a"].append(seconds)
        times["b"].append(raw_dump(kind, database))
        seconds, gzip_snapshot = databasement(api, server["id"], vol["id"], database, "gzip")
        sizes["c"], sizes["plain"] = int(gzip_snapshot["size"]), int(gzip_snapshot["bytes_dumped"])
        times["c"].append(seconds)
        seconds, zstd_snapshot = databasement(api, server["id"], vol["id"], database, "zstd")
        sizes["d"] = int(zstd_snapshot["size"])
        times["d"].append(seconds)
    watch.stopping.set()
    watch.join()
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "medians": medians,
        "sizes": sizes,
        "rss": watch.peak,
        "api": api,
        "server_id": server["id"],
        "snapshot": gzip_snapshot,
    }


def report(label: str, result: dict[str, object]) -> None:
    m: dict[str, float] = result["medians"]  # type: ignore[assignment]
    s: dict[str, int] = result["sizes"]  # type: ignore[assignment]
    rss: dict[str, int] = result["rss"]  # type: ignore[assignment]
    print(f"\n## {label}: plain dump {s['plain'] / MIB:.0f} MiB")
    print("| case | seconds (median) | compressed size |")
    print("|---|---|---|")
    print(f"| (a) dump \\| gzip -6, then copy to volume | {m['a']:.1f} | {s['a'] / MIB:.1f} MiB |")
    print(f"| (b) dump > /dev/null | {m['b']:.1f} | - |")
    print(f"| (c) Databasement gzip (isal) | {m['c']:.1f} | {s['c'] / MIB:.1f} MiB |")
    print(f"| (d) Databasement zstd | {m['d']:.1f} | {s['d'] / MIB:.1f} MiB |")
    print(
        f"ratios: (c)/(a) = {m['c'] / m['a']:.2f} (target <= 0.40), "
        f"(c)/(b) = {m['c'] / m['b']:.2f} (target <= 1.30), "
        f"(d)/(b) = {m['d'] / m['b']:.2f} (target <= 1.25)"
    )
    print(
        f"peak RSS: dumper {rss.get('dumper', 0) / MIB:.0f} MiB (target < 200), "
        f"uploader {rss.get('uploader', 0) / MIB:.0f} MiB (target < 150)",
        flush=True,
    )


async def build_databases() -> tuple[list[str], list[str]]:
    pg = [await ensure_pg(scale) for scale in PG_SCALES]
    maria = [ensure_maria(rows) for rows in MARIA_ROWS]
    return pg, maria


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    pg, maria = asyncio.run(build_databases())
    namespace = f"bench{os.getpid()}"
    database = f"dbm_bench_stack_{os.getpid()}"
    asyncio.run(_create_db(database))
    volume = VAR / "volume"
    shutil.rmtree(volume, ignore_errors=True)
    volume.mkdir(parents=True)
    env = stack_env(namespace=namespace, database_url=pg_url(database), staging=VAR / "staging")
    stack = start_stack(env, VAR / "logs")
    try:
        for name in pg:
            result = measure(stack, "postgresql", name, volume)
            report(f"PostgreSQL {name}", result)
            if name == pg[-1]:  # the largest scale: BENCH_PG_SCALES ascends
                api: httpx.Client = result["api"]  # type: ignore[assignment]
                snapshot: dict[str, Any] = result["snapshot"]  # type: ignore[assignment]
                medians = run_restore_benchmark(
                    api,
                    admin_url=PG_ADMIN,
                    snapshot=snapshot,
                    server_id=str(result["server_id"]),
                    volume=volume,
                    repeats=REPEATS,
                )
                report_restore(f"PostgreSQL {name}", snapshot, medians)
            shutil.rmtree(volume, ignore_errors=True)
            volume.mkdir()
        for name in maria:
            report(f"MariaDB {name}", measure(stack, "mariadb", name, volume))
            shutil.rmtree(volume, ignore_errors=True)
            volume.mkdir()
        run_api_benchmarks(stack, PG_ADMIN)
    finally:
        stack.stop()
        asyncio.run(_drop_db(database))
        asyncio.run(delete_namespace(env.get("TEST_RABBITMQ_URL", RABBIT), namespace))


async def _create_db(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()


async def _drop_db(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


if __name__ == "__main__":
    main()
