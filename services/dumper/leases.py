"""Job leases: each backup or restore request runs once at a time across every dumper replica.

The dumper acks a request only once its outcome is published, so a job can hold its message
for hours. RabbitMQ gives up on an unacked delivery after its consumer timeout (30 min by
default, node-wide on RabbitMQ 3.10): it closes the consumer's channel and requeues the
message, which comes back (to another replica, or to this one on the reopened channel) while
the first run still goes on. Without a guard that second delivery would start a second dump,
or find the restore's own half-made target and fail it.

So before it works, a delivery claims the job's lease (a row keyed by the request's id in the
dumper's own tables), and the holder renews it while it runs:
- a delivery that finds a live lease (renewed within `timeout`, whoever holds it, this
  process included) does not work: the caller parks the message and it is re-checked later;
- a delivery that finds the lease finished (the outcome was published, the request's event id
  recorded as handled in the same transaction) is acked and dropped;
- a delivery that finds the lease stale (its holder died without releasing it) takes the job
  over as a new attempt, as any redelivery after a crash does.
A run that stops unfinished (an unexpected error, the service stopping) releases the lease
at once, so its redelivery need not wait for it to go stale.

Why not ack at claim time and re-publish the jobs of dead holders from a sweeper: the broker
then no longer knows about a running job, so a lost re-publication loses the request, and the
sweeper would be a second delivery mechanism beside the broker's. Here the broker still owns
every request until its outcome is out; the lease only stops duplicates from running.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID, uuid4

from shared.logging import get_logger

log = get_logger(__name__)

BEATS_PER_TIMEOUT = 4
"""Renewals per lease timeout: a few missed ones (a database blip) do not lose the lease."""


@dataclass(frozen=True)
class Claimed:
    """This delivery holds the lease; `attempt` counts the claims of the job, 1 for the first."""

    attempt: int


ClaimOutcome = Claimed | Literal["running", "finished"]
RunOutcome = Literal["ran", "running", "finished"]


class LeaseStore(Protocol):
    """Where leases live, shared by every replica."""

    async def claim(self, job_id: UUID, holder: UUID, *, stale_after: float) -> ClaimOutcome:
        """Take the lease if the job is new or its lease was not renewed for `stale_after` s."""

    async def renew(self, job_id: UUID, holder: UUID) -> bool:
        """Renew `holder`'s lease; False once someone else took it over."""

    async def release(self, job_id: UUID, holder: UUID) -> None:
        """Give up an unfinished job: the next delivery may claim it at once."""

    async def finish(self, job_id: UUID, holder: UUID, *, event_id: UUID) -> None:
        """Mark the job done and `event_id` handled, in one transaction."""


class JobLeases:
    """Runs jobs under their leases; `timeout` s without a renewal means the holder died."""

    def __init__(self, store: LeaseStore, *, timeout: float) -> None:
        self._store = store
        self._timeout = timeout

    async def run(
        self, job_id: UUID, event_id: UUID, work: Callable[[int], Awaitable[object]]
    ) -> RunOutcome:
        """Run `work(attempt)` if this delivery gets the lease; else say why it did not."""
        holder = uuid4()
        claim = await self._store.claim(job_id, holder, stale_after=self._timeout)
        if not isinstance(claim, Claimed):
            log.info("job_lease_busy", job_id=str(job_id), state=claim)
            return claim
        if claim.attempt > 1:
            log.info("job_lease_taken_over", job_id=str(job_id), attempt=claim.attempt)
        beating = asyncio.create_task(self._renew_until_cancelled(job_id, holder))
        try:
            await work(claim.attempt)
        except BaseException:
            beating.cancel()
            await self._release(job_id, holder)
            raise
        beating.cancel()
        await self._store.finish(job_id, holder, event_id=event_id)
        return "ran"

    async def _release(self, job_id: UUID, holder: UUID) -> None:
        # Best effort: a lease that could not be released goes stale after the timeout.
        try:
            await asyncio.shield(self._store.release(job_id, holder))
        except Exception as exc:  # the job's own error is the one raised
            log.warning("job_lease_release_failed", error=type(exc).__name__)
        except asyncio.CancelledError:
            log.warning("job_lease_release_cancelled")

    async def _renew_until_cancelled(self, job_id: UUID, holder: UUID) -> None:
        interval = self._timeout / BEATS_PER_TIMEOUT
        while True:
            await asyncio.sleep(interval)
            try:
                still_held = await self._store.renew(job_id, holder)
            except Exception as exc:  # a blip: the next renewal tries again
                log.warning("job_lease_renew_failed", error=type(exc).__name__)
                continue
            if not still_held:
                # Our renewals stopped reaching the database for longer than the timeout and
                # a redelivery took over: this run's outcome still gets published, but the
                # job is no longer ours to mark finished.
                log.warning("job_lease_lost", job_id=str(job_id))
                return
