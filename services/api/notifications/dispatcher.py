"""The delivery loop every api replica runs: claim due deliveries, send, retry with backoff.

A send happens outside any transaction: the claim moves `next_attempt_at` past the send's
timeout first, so another replica does not take the row meanwhile. A channel that is down
only delays its own rows; a backup never waits for a notification.
"""

import asyncio

from services.api.adapters.channels import DeliveryQueue, DueDelivery
from services.api.notifications.rules import backoff
from services.api.notifications.senders import SendError, send
from services.api.notifications.settings import NotificationSettings
from services.api.vault import Vault, VaultError
from shared.events import utc_now
from shared.logging import get_logger
from shared.outbound import STRICT, OutboundPolicy

log = get_logger(__name__)
BATCH = 20
LEASE_MARGIN = 30.0
"""Seconds a claimed row stays claimed beyond the send timeout (an SMTP send has steps)."""


class Dispatcher:
    """Sends what is due, marks each delivery delivered, retried later, or given up."""

    def __init__(
        self,
        queue: DeliveryQueue,
        vault: Vault,
        settings: NotificationSettings,
        *,
        outbound: OutboundPolicy = STRICT,
    ) -> None:
        self.queue = queue
        self.vault = vault
        self.settings = settings
        self.outbound = outbound

    async def run(self) -> None:
        """Forever: a pass, then a pause while nothing was due."""
        while True:
            try:
                sent = await self.dispatch_once()
            except Exception:  # the loop's boundary: a database hiccup must not end it
                log.exception("notification_dispatch_failed")
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(self.settings.dispatch_interval)

    async def dispatch_once(self) -> int:
        """One pass; returns how many deliveries were tried."""
        lease = self.settings.send_timeout * 2 + LEASE_MARGIN
        due = await self.queue.claim(limit=BATCH, lease=lease)
        await asyncio.gather(*(self._deliver(delivery) for delivery in due))
        return len(due)

    async def _deliver(self, delivery: DueDelivery) -> None:
        channel = delivery.channel
        context = {"delivery_id": delivery.id, "channel": channel.name, "kind": delivery.kind}
        if delivery.attempts > self.settings.max_attempts:
            # Earlier tries ended without an outcome (the api stopped mid-send): no more.
            error = f"{delivery.attempts - 1} attempts ended without an outcome"
            await self._failed(delivery, error, context)
            return
        try:
            config = channel.config | self.vault.unseal(channel.secrets_sealed)
            await send(
                channel.type,
                config,
                delivery.payload,
                seconds=self.settings.send_timeout,
                outbound=self.outbound,
            )
        except (SendError, VaultError) as exc:
            await self._failed(delivery, str(exc), context)
            return
        except Exception as exc:  # the boundary: an unexpected error still counts an attempt
            log.exception("notification_send_crashed", **context)
            error = f"the send failed unexpectedly ({type(exc).__name__})"
            await self._failed(delivery, error, context)
            return
        await self.queue.delivered(delivery.id)
        log.info("notification_delivered", attempts=delivery.attempts, **context)

    async def _failed(self, delivery: DueDelivery, error: str, context: dict[str, object]) -> None:
        """Record a failed attempt: retried after the backoff, or given up after the last."""
        give_up = delivery.attempts >= self.settings.max_attempts
        retry_in = backoff(
            delivery.attempts, base=self.settings.backoff_base, cap=self.settings.backoff_max
        )
        await self.queue.failed(
            delivery.id, error, retry_in=retry_in, give_up=give_up, now=utc_now()
        )
        event = "notification_given_up" if give_up else "notification_retry_scheduled"
        log.warning(event, attempts=delivery.attempts, retry_in=retry_in, error=error, **context)
