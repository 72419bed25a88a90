"""Open-loop load on POST /api/v1/backups: a fixed rate, whatever the latency.

Request i is sent at start + i/rate, never later because an earlier one is still waiting,
and its latency counts from that planned instant (no coordinated omission). Prints one JSON
line: requests, errors, achieved rate, p50/p90/p99/max latency in milliseconds.

The token comes from DATABASEMENT_TOKEN (never argv: the process list is public).
"""

import argparse
import asyncio
import json
import os
import statistics
import time

import httpx


async def one(
    http: httpx.AsyncClient, body: dict[str, object], planned: float, out: list[float]
) -> bool:
    try:
        response = await http.post("/api/v1/backups", json=body)
    except httpx.HTTPError:
        return False
    out.append(time.perf_counter() - planned)
    return response.status_code == 202


async def load(args: argparse.Namespace, token: str) -> dict[str, object]:
    body = {
        "server_id": args.server_id,
        "database": args.database,
        "volume_id": args.volume_id,
        "compression": "gzip",
    }
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=args.url,
        headers={"Authorization": f"Bearer {token}"},
        limits=limits,
        timeout=30,
    ) as http:
        total = int(args.rate * args.seconds)
        tasks = []
        start = time.perf_counter()
        for i in range(total):
            planned = start + i / args.rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, body, planned, latencies)))
        results = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")

    return {
        "requests": total,
        "accepted": sum(results),
        "errors": total - sum(results),
        "rate": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p90_ms": round(pct(0.90), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(ms[-1], 1) if ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-id", required=True)
    parser.add_argument("--volume-id", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    token = os.environ.get("DATABASEMENT_TOKEN", "")
    print(json.dumps(asyncio.run(load(args, token))), flush=True)


if __name__ == "__main__":
    main()
