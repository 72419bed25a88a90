"""Open-loop load on POST /api/v1/backups: a fixed rate, whatever the latency.

Request i is sent at start + i/rate, never later because an earlier one is still waiting,
and its latency counts from that planned instant (no coordinated omission). Prints one JSON
line: requests, accepted (202), refused (503 with Retry-After), errors (anything else, or no
answer), achieved rate, and p50/p90/p99/max latency in milliseconds of every answer.

The token comes from DATABASEMENT_TOKEN (never argv: the process list is public).
"""

import argparse
import asyncio
import json
import os
import statistics
import time
from collections import Counter
from urllib.parse import urlsplit

TIMEOUT = 30.0
KEEP_ALIVE = 4.0


class Connections:
    """Keep-alive HTTP/1.1 connections to the api, one per request in flight, as many as the
    load needs (a fleet of clients each waiting on its own request).

    Written here rather than taken from httpx: httpcore's pool matches every queued request
    against every connection on each event, so under a slow api the load generator itself
    spent most of a core there and sent late (measured with py-spy), which then counted as
    the api's latency.
    """

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str]]:
        """The status and headers of one POST; the connection is kept for the next."""
        # uvicorn closes a connection idle for 5 s; one idle longer is not reused.
        while self.idle and self.idle[-1][2] < time.monotonic() - KEEP_ALIVE:
            self.idle.pop()[1].close()
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened.append(writer)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() != "close":
            self.idle.append((reader, writer, time.monotonic()))
        return int(status_line.split()[1]), headers

    def close(self) -> None:
        for writer in self.opened:
            writer.close()


async def one(
    connections: Connections,
    body: bytes,
    planned: float,
    out: list[tuple[float, str]],
    errors: Counter[str],
    *,
    late: list[float],
) -> str:
    """ "accepted" (202), "refused" (503 with Retry-After: come back later) or "error"."""
    # How late this generator itself sends: its own lag counts in the latency, so it is shown.
    late.append(time.perf_counter() - planned)
    try:
        async with asyncio.timeout(TIMEOUT):
            status, headers = await connections.post("/api/v1/backups", body)
    except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
        errors[type(exc).__name__] += 1
        return "error"
    kind = "error"
    if status == 202:
        kind = "accepted"
    elif status == 503 and "retry-after" in headers:
        kind = "refused"
    else:
        errors[f"HTTP {status}"] += 1
    out.append((time.perf_counter() - planned, kind))
    return kind


async def load(args: argparse.Namespace, token: str) -> dict[str, object]:
    body = json.dumps(
        {
            "server_id": args.server_id,
            "database": args.database,
            "volume_id": args.volume_id,
            "compression": "gzip",
        }
    ).encode()
    latencies: list[tuple[float, str]] = []
    errors: Counter[str] = Counter()
    late: list[float] = []
    replicas = [Connections(url, token) for url in args.url]
    try:
        total = int(args.rate * args.seconds)
        tasks = []
        start = time.perf_counter()
        for i in range(total):
            planned = start + i / args.rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            connections = replicas[i % len(replicas)]  # round robin, as a gateway would
            tasks.append(
                asyncio.create_task(one(connections, body, planned, latencies, errors, late=late))
            )
        results = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        for connections in replicas:
            connections.close()
    ms = sorted(x * 1000 for x, _ in latencies)

    def slowest(kind: str) -> float | None:
        times = [x * 1000 for x, k in latencies if k == kind]
        return round(max(times), 1) if times else None

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")

    return {
        "requests": total,
        "accepted": results.count("accepted"),
        "refused": results.count("refused"),
        "errors": results.count("error"),
        "error_kinds": dict(errors),
        "rate": round(total / elapsed, 1),
        "accepted_rate": round(results.count("accepted") / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p90_ms": round(pct(0.90), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(ms[-1], 1) if ms else None,
        "accepted_max_ms": slowest("accepted"),
        "refused_max_ms": slowest("refused"),
        "sent_late_max_ms": round(max(late) * 1000, 1) if late else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--url", required=True, action="append", help="an api replica (repeat for several)"
    )
    parser.add_argument("--server-id", required=True)
    parser.add_argument("--volume-id", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    token = os.environ.get("DATABASEMENT_TOKEN", "")
    print(json.dumps(asyncio.run(load(args, token))), flush=True)


if __name__ == "__main__":
    main()
