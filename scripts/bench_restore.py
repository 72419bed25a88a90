"""The restore part of `make bench`: Databasement's restore against plain `gunzip -c | psql`.

On the stack `scripts/bench.py` started, with the large PostgreSQL gzip snapshot it just
made, for BENCH_REPEATS rounds (alternating which goes first, so neither always meets a
warm page cache):
  (g) plain: CREATE DATABASE, then `gunzip -c artifact | psql -v ON_ERROR_STOP=1 -X -q`;
  (h) Databasement: POST /api/v1/restores into a new database, until the restore is
      completed (the dumper creates the database, checks every chunk's sha256,
      decompresses and pipes into the same psql); also the part of it inside the dumper
      (the record's started_at to finished_at), which leaves out queueing and recording.
It prints the medians and the ratio (h)/(g). Target: <= 1.10. Every database it creates
is dropped.
"""

import asyncio
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

TARGET_RATIO = 1.10


def database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def plain_restore(admin_url: str, artifact: Path, name: str) -> float:
    """(g): CREATE DATABASE, then gunzip -c | psql; the seconds both took."""
    start = time.perf_counter()
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    with subprocess.Popen(["gunzip", "-c", str(artifact)], stdout=subprocess.PIPE) as gunzip:
        subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-X", "-q", "-d", database_url(admin_url, name)],
            stdin=gunzip.stdout,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    if gunzip.returncode != 0:
        raise SystemExit("bench: gunzip failed on the snapshot's artifact")
    return time.perf_counter() - start


def api_restore(
    api: httpx.Client, snapshot_id: str, server_id: str, name: str
) -> tuple[float, float]:
    """(h): from the POST until the restore is completed; the seconds it took, and the
    seconds the dumper spent from its start to its end."""
    start = time.perf_counter()
    response = api.post(
        "/api/v1/restores",
        json={"snapshot_id": snapshot_id, "server_id": server_id, "database": name},
    )
    if response.status_code != httpx.codes.ACCEPTED:
        raise SystemExit(f"bench: restore refused ({response.status_code}): {response.text}")
    restore_id = response.json()["id"]
    while True:
        record = api.get(f"/api/v1/restores/{restore_id}").json()
        if record["status"] in {"completed", "failed"}:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if record["status"] != "completed":
        raise SystemExit(f"bench: restore failed: {record.get('error')}")
    if not record.get("started_at") or not record.get("finished_at"):
        return seconds, float("nan")
    inside = datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(
        record["started_at"]
    )
    return seconds, inside.total_seconds()


def run_restore_benchmark(
    api: httpx.Client,
    *,
    admin_url: str,
    snapshot: dict[str, Any],
    server_id: str,
    volume: Path,
    repeats: int,
) -> dict[str, float]:
    """Both restores `repeats` times; the medians, keyed "g", "h" and "dumper"."""
    artifact = volume / snapshot["path"]
    times: dict[str, list[float]] = {"g": [], "h": [], "dumper": []}
    for round_ in range(repeats):
        names = {key: f"dbm_bench_restore_{key}_{time.time_ns()}" for key in ("g", "h")}
        order = ["g", "h"] if round_ % 2 == 0 else ["h", "g"]
        try:
            for key in order:
                if key == "g":
                    times[key].append(plain_restore(admin_url, artifact, names[key]))
                else:
                    seconds, inside = api_restore(api, snapshot["id"], server_id, names[key])
                    times[key].append(seconds)
                    times["dumper"].append(inside)
        finally:
            for name in names.values():
                asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return {key: statistics.median(values) for key, values in times.items()}


def report_restore(label: str, snapshot: dict[str, Any], medians: dict[str, float]) -> None:
    mib = 1024 * 1024
    print(
        f"\n## Restore of {label}: artifact {int(snapshot['size']) / mib:.0f} MiB gzip, "
        f"plain SQL {int(snapshot['bytes_dumped']) / mib:.0f} MiB"
    )
    print("| case | seconds (median) |")
    print("|---|---|")
    print(f"| (g) CREATE DATABASE; gunzip -c \\| psql | {medians['g']:.1f} |")
    print(f"| (h) Databasement restore (sha256 per chunk, isal) | {medians['h']:.1f} |")
    print(f"| (h) of which inside the dumper | {medians['dumper']:.1f} |")
    print(f"ratio: (h)/(g) = {medians['h'] / medians['g']:.2f} (target <= {TARGET_RATIO:.2f})")
    print(flush=True)
