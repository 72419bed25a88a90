"""The stream of backup requests the faults hit: bursts of requests `interval` seconds apart,
alternating local and S3 volumes, gzip and zstd, across the source databases and servers."""

import asyncio
import time
from dataclasses import dataclass

import httpx

from tests.faults.harness import Harness

COMPRESSIONS = ("gzip", "gzip", "gzip", "zstd")


@dataclass
class Request:
    """One POST /api/v1/backups and what the api answered."""

    index: int
    volume: str
    source: str
    compression: str
    sent_at: float
    snapshot_id: str | None = None
    refusal: str | None = None
    """When not accepted (no 202): the status code and the api's sentence."""


async def send_requests(
    harness: Harness, requests: list[Request], *, first: int, count: int
) -> None:
    """Send requests `first` .. `first + count - 1`, `interval` seconds apart, whatever the
    faults are doing meanwhile; each is appended to `requests` as it is sent."""
    sources = list(harness.sources)
    start = time.monotonic()
    for offset in range(count):
        index = first + offset
        await asyncio.sleep(max(0.0, start + offset * harness.settings.interval - time.monotonic()))
        volume = "local" if index % 2 == 0 else "s3"
        request = Request(
            index=index,
            volume=volume,
            source=sources[index % len(sources)],
            compression=COMPRESSIONS[index % len(COMPRESSIONS)],
            sent_at=time.monotonic(),
        )
        requests.append(request)
        servers = harness.server_ids[harness.engines[request.source]]
        await _send(harness, request, servers[index % len(servers)])


async def _send(harness: Harness, request: Request, server_id: str) -> None:
    body = {
        "server_id": server_id,
        "database": request.source,
        "volume_id": harness.volumes[request.volume]["id"],
        "compression": request.compression,
    }
    try:
        response = await harness.api.http.post("/api/v1/backups", json=body, timeout=60)
    except httpx.HTTPError as exc:
        request.refusal = f"no answer: {type(exc).__name__}"
        return
    if response.status_code == 202:
        [snapshot] = response.json()["snapshots"]
        request.snapshot_id = snapshot["id"]
    else:
        detail = response.json().get("detail") if _is_json(response) else response.text[:200]
        request.refusal = f"{response.status_code}: {detail}"


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")
