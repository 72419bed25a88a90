"""What `make scale` samples while a round runs: queue depths and the services' /metrics."""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import aio_pika
import httpx
from prometheus_client.parser import text_string_to_metric_families

PROCESSED = "faststream_received_processed_messages"
DURATION = "faststream_received_processed_messages_duration_seconds"


@dataclass
class DepthSeries:
    """(seconds since the round began, ready messages) per queue, sampled on a timer."""

    queues: list[str]
    samples: list[tuple[float, list[int]]] = field(default_factory=list)

    async def sample_until(self, rabbit_url: str, done: asyncio.Event, interval: float) -> None:
        started = time.monotonic()
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            while not done.is_set():
                depths = []
                for name in self.queues:
                    # A passive declare answers the queue's ready count without touching it.
                    declared = await channel.declare_queue(name, passive=True)
                    depths.append(declared.declaration_result.message_count or 0)
                self.samples.append((time.monotonic() - started, depths))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=interval)

    def peaks(self) -> list[int]:
        return [max((s[1][i] for s in self.samples), default=0) for i in range(len(self.queues))]

    def timeline(self, points: int = 12) -> str:
        """A few evenly spaced samples, `t=12s 30/4` (one number per queue)."""
        if not self.samples:
            return "-"
        step = max(1, len(self.samples) // points)
        chosen = self.samples[::step]
        if chosen[-1] is not self.samples[-1]:
            chosen.append(self.samples[-1])
        return " ".join(f"t={t:.0f}s " + "/".join(str(d) for d in depths) for t, depths in chosen)


@dataclass(frozen=True)
class HandlerTotals:
    """One queue handler's processed messages and the seconds spent handling them."""

    messages: float = 0.0
    seconds: float = 0.0


async def scrape(ports: list[int]) -> dict[str, HandlerTotals]:
    """Processed messages and handling seconds per `service routing-key`, summed over the
    given processes. FastStream labels each with the app and `<exchange>.<routing key>`."""
    totals: dict[str, HandlerTotals] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for port in ports:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    handler = sample.labels.get("handler")
                    if handler is None or ".events." not in handler:
                        continue
                    key = f"{sample.labels.get('app_name')} {handler.split('.events.', 1)[1]}"
                    known = totals.get(key, HandlerTotals())
                    if sample.name == f"{PROCESSED}_total":
                        known = HandlerTotals(known.messages + sample.value, known.seconds)
                    elif sample.name == f"{DURATION}_sum":
                        known = HandlerTotals(known.messages, known.seconds + sample.value)
                    totals[key] = known
    return totals


def stage(totals: dict[str, HandlerTotals], service: str, *keys: str) -> HandlerTotals:
    """One service's totals over the given routing keys (every key when none is given)."""
    chosen = [
        value
        for key, value in totals.items()
        if key.split(" ")[0] == service and (not keys or key.split(" ", 1)[1] in keys)
    ]
    return HandlerTotals(sum(v.messages for v in chosen), sum(v.seconds for v in chosen))


def difference(
    after: dict[str, HandlerTotals], before: dict[str, HandlerTotals]
) -> dict[str, HandlerTotals]:
    return {
        handler: HandlerTotals(
            totals.messages - before.get(handler, HandlerTotals()).messages,
            totals.seconds - before.get(handler, HandlerTotals()).seconds,
        )
        for handler, totals in after.items()
    }
