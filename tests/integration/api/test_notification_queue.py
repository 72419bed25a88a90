"""Notifications on a real PostgreSQL: the delivery queue shared by two replicas,
trigger rules applied to real rows, the RPO pass once across replicas and once per episode,
and the volume-over-quota function. The catalog is a stub at the edge (its answers only)."""

import asyncio
import email.policy
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.fernet import Fernet
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.api.adapters.channels import Channel, ChannelRepository, DeliveryQueue
from services.api.notifications import messages
from services.api.notifications.dispatcher import Dispatcher
from services.api.notifications.hook_catalog import HookCatalog
from services.api.notifications.hooks import HookRunner
from services.api.notifications.overdue import OverdueChecker, last_success_gauge
from services.api.notifications.quota import notify_volume_over_quota, over_quota_hook
from services.api.notifications.settings import NotificationSettings
from services.api.notifications.triggers import Notifier
from services.api.quotas import OverQuota
from services.api.vault import Vault
from shared.events import SnapshotStatusChanged
from shared.migrations import migrate
from tests.support.env import free_port

SCHEMA = "api"
MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "api" / "migrations"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
INSERT_DELIVERY = (
    "INSERT INTO api.notification_deliveries (channel_id, kind, dedupe_key, payload) "
    "VALUES ($1, 'test', $2, $3::jsonb)"
)


@pytest.fixture
async def pool(pg_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(pg_database, min_size=1, max_size=6)
    await migrate(pool, schema=SCHEMA, folder=MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
def vault() -> Vault:
    return Vault(SecretStr(Fernet.generate_key().decode()))


class Counter:
    """An HTTP receiver that counts each delivery's POSTs by body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()


class Receiver(ThreadingHTTPServer):
    # A dispatcher sends a whole batch at once; the default backlog of 5 resets connections
    # past it whenever the accepting thread is slow to run (a loaded machine).
    request_queue_size = 128


@pytest.fixture
def receiver() -> Iterator[tuple[str, Counter]]:
    counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with counter.lock:
                counter.bodies.append(body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = Receiver(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", counter
    server.shutdown()
    server.server_close()


async def add_webhook(pool: asyncpg.Pool, vault: Vault, url: str) -> UUID:
    channel = Channel(
        id=uuid4(),
        name=f"hook-{uuid4().hex[:6]}",
        type="webhook",
        config={"url": url},
        secrets_sealed=vault.seal({"secret": "0123456789abcdef"}),
        created_at=NOW,
    )
    await ChannelRepository(pool, SCHEMA).add(channel)
    return channel.id


async def add_config(pool: asyncpg.Pool, **fields: Any) -> tuple[UUID, UUID]:
    """A server and a backup configuration of it, written as C1's migration 0006 defines."""
    server_id, volume_id, config_id = uuid4(), uuid4(), uuid4()
    await pool.execute(
        "INSERT INTO api.servers (id, name, type, host, port, username, password_sealed) "
        "VALUES ($1, $2, 'postgresql', '127.0.0.1', 5432, 'postgres', 'x')",
        server_id,
        f"srv-{server_id.hex[:6]}",
    )
    await pool.execute(
        "INSERT INTO api.volumes (id, name, type, config, spec_sealed) "
        "VALUES ($1, $2, 'local', '{}', 'x')",
        volume_id,
        f"vol-{volume_id.hex[:6]}",
    )
    await pool.execute(
        "INSERT INTO api.backup_configs (id, name, server_id, databases, volume_ids, "
        "compression, rpo_hours, notify, created_at) "
        "VALUES ($1, $2, $3, $4::jsonb, $5, 'gzip', $6, $7::jsonb, $8)",
        config_id,
        f"cfg-{config_id.hex[:6]}",
        server_id,
        json.dumps(fields.get("databases", {"mode": "list", "names": ["shop"]})),
        [volume_id],
        fields.get("rpo_hours"),
        json.dumps(fields.get("notify", {"on": "failure", "channel_ids": []})),
        fields.get("created_at", NOW),
    )
    return config_id, server_id


async def add_request(pool: asyncpg.Pool, server_id: UUID, config_id: UUID | None) -> UUID:
    snapshot_id = uuid4()
    volume_id = await pool.fetchval("SELECT id FROM api.volumes LIMIT 1")
    await pool.execute(
        "INSERT INTO api.snapshots_requested (id, server_id, database, volume_id, compression, "
        "requested_at, config_id) VALUES ($1, $2, 'shop', $3, 'gzip', $4, $5)",
        snapshot_id,
        server_id,
        volume_id,
        NOW,
        config_id,
    )
    return snapshot_id


async def queued(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT kind, attempts, delivered_at FROM api.notification_deliveries")


class StubLink:
    """The catalog's answers to list_snapshots, as the checker asks them."""

    def __init__(self, finished_at: datetime | None = None) -> None:
        self.finished_at = finished_at

    async def ask_catalog(
        self,
        body: dict[str, Any],
        *,
        wait: float | None = None,  # noqa: ARG002 - the link's signature
    ) -> dict[str, Any]:
        if body.get("op") != "list_snapshots" or self.finished_at is None:
            return {"ok": True, "snapshots": []}
        return {"ok": True, "snapshots": [{"finished_at": self.finished_at.isoformat()}]}


def no_hooks() -> HookRunner:
    async def warn(_warning: object) -> None:
        raise AssertionError("no hook is configured")

    return HookRunner(warn, HookCatalog({}))


class TestDeliveryQueue:
    async def test_two_replicas_send_each_delivery_exactly_once(
        self, pool: asyncpg.Pool, vault: Vault, receiver: tuple[str, Counter]
    ) -> None:
        url, counter = receiver
        channel = await add_webhook(pool, vault, url)
        async with pool.acquire() as conn:
            for n in range(30):
                await conn.execute(
                    INSERT_DELIVERY,
                    channel,
                    f"k{n}",
                    json.dumps({"n": n}),
                )
        settings = NotificationSettings(send_timeout=5)
        replicas = [Dispatcher(DeliveryQueue(pool, SCHEMA), vault, settings) for _ in range(2)]

        for _ in range(3):
            await asyncio.gather(*(replica.dispatch_once() for replica in replicas))

        assert sorted(body["n"] for body in counter.bodies) == list(range(30))
        rows = await queued(pool)
        assert all(row["delivered_at"] is not None and row["attempts"] == 1 for row in rows)

    async def test_a_refused_send_waits_longer_each_time_then_gives_up(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        channel = await add_webhook(pool, vault, "http://127.0.0.1:9/closed")
        await pool.execute(
            "INSERT INTO api.notification_deliveries (channel_id, kind, dedupe_key, payload) "
            "VALUES ($1, 'test', 'one', '{}'::jsonb)",
            channel,
        )
        settings = NotificationSettings(
            backoff_base=10, backoff_max=100, max_attempts=3, send_timeout=2
        )
        dispatcher = Dispatcher(DeliveryQueue(pool, SCHEMA), vault, settings)
        waits = []
        for _ in range(3):
            await dispatcher.dispatch_once()
            row = await pool.fetchrow(
                "SELECT attempts, next_attempt_at - now() AS wait, given_up_at, last_error "
                "FROM api.notification_deliveries"
            )
            assert row is not None
            waits.append(row["wait"].total_seconds())
            await pool.execute("UPDATE api.notification_deliveries SET next_attempt_at = now()")

        assert waits[0] == pytest.approx(10, abs=2)
        assert waits[1] == pytest.approx(20, abs=2)
        assert row is not None
        assert row["attempts"] == 3
        assert row["given_up_at"] is not None
        assert "cannot reach 127.0.0.1:9" in row["last_error"]
        assert await dispatcher.dispatch_once() == 0


class Mails:
    """aiosmtpd's handler: the raw bytes of each accepted mail."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.received.append(envelope.original_content or b"")
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mails]]:
    """A real SMTP server on loopback (plain: these tests are about headers and retries)."""
    mails, port = Mails(), free_port()
    controller = Controller(mails, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mails
    controller.stop()


async def add_mail_channel(pool: asyncpg.Pool, vault: Vault, config: dict[str, Any]) -> UUID:
    channel = Channel(
        id=uuid4(),
        name=f"mail-{uuid4().hex[:6]}",
        type="email",
        config=config,
        secrets_sealed=vault.seal({}),
        created_at=NOW,
    )
    await ChannelRepository(pool, SCHEMA).add(channel)
    return channel.id


class TestEmail:
    async def test_a_database_named_with_a_newline_mails_one_sane_subject(
        self, pool: asyncpg.Pool, vault: Vault, smtp_server: tuple[int, Mails]
    ) -> None:
        port, mails = smtp_server
        config = {
            "host": "127.0.0.1",
            "port": port,
            "from_address": "dbm@example.com",
            "to": ["ops@example.com"],
            "starttls": False,
        }
        channel = await add_mail_channel(pool, vault, config)
        facts = {"server": "pg", "database": "shop\r\nBcc: thief@example.com", "error": "boom"}
        body = messages.payload("backup_failed", facts, occurred_at=NOW)
        await pool.execute(INSERT_DELIVERY, channel, "nl", json.dumps(body))

        await Dispatcher(DeliveryQueue(pool, SCHEMA), vault, NotificationSettings()).dispatch_once()

        [row] = await queued(pool)
        assert row["delivered_at"] is not None
        [raw] = mails.received
        headers = raw.split(b"\r\n\r\n", 1)[0].decode()
        assert "Bcc" not in [line.split(":", 1)[0] for line in headers.splitlines()]
        mail = message_from_bytes(raw, policy=email.policy.default)
        assert mail["Subject"] == (
            "[Databasement] Backup failed: Backup of shop  Bcc: thief@example.com on pg "
            "failed: boom"
        )
        assert mail["Bcc"] is None

    async def test_an_unexpected_send_error_counts_until_max_attempts_end_it(
        self, pool: asyncpg.Pool, vault: Vault, smtp_server: tuple[int, Mails]
    ) -> None:
        """A stored channel the sender cannot use (here: an old row without a port) raises
        something no sender expects; it is an attempt like any other, not an endless retry."""
        _, mails = smtp_server
        broken = {"host": "127.0.0.1", "from_address": "dbm@example.com", "to": ["o@example.com"]}
        channel = await add_mail_channel(pool, vault, broken)
        await pool.execute(INSERT_DELIVERY, channel, "crash", json.dumps({"title": "t"}))
        settings = NotificationSettings(max_attempts=3, backoff_base=1, backoff_max=1)
        dispatcher = Dispatcher(DeliveryQueue(pool, SCHEMA), vault, settings)

        tried = []
        for _ in range(5):
            tried.append(await dispatcher.dispatch_once())
            await pool.execute("UPDATE api.notification_deliveries SET next_attempt_at = now()")

        assert tried == [1, 1, 1, 0, 0]
        row = await pool.fetchrow(
            "SELECT attempts, given_up_at, last_error FROM api.notification_deliveries"
        )
        assert row is not None
        assert row["attempts"] == 3
        assert row["given_up_at"] is not None
        assert row["last_error"] == "the send failed unexpectedly (KeyError)"
        assert mails.received == []

    async def test_attempts_that_ended_without_an_outcome_are_given_up(
        self, pool: asyncpg.Pool, vault: Vault, receiver: tuple[str, Counter]
    ) -> None:
        """An api stopped mid-send records nothing; past the limit the row is not sent again."""
        url, counter = receiver
        channel = await add_webhook(pool, vault, url)
        await pool.execute(INSERT_DELIVERY, channel, "lost", "{}")
        await pool.execute("UPDATE api.notification_deliveries SET attempts = 3")
        settings = NotificationSettings(max_attempts=3)

        await Dispatcher(DeliveryQueue(pool, SCHEMA), vault, settings).dispatch_once()

        row = await pool.fetchrow("SELECT given_up_at, last_error FROM api.notification_deliveries")
        assert row is not None
        assert row["given_up_at"] is not None
        assert row["last_error"] == "3 attempts ended without an outcome"
        assert counter.bodies == []


async def request_notifying(
    pool: asyncpg.Pool, vault: Vault, on: str, *, by_config: bool = True
) -> tuple[UUID, UUID]:
    """(snapshot id, config id): a configuration whose webhook channel wants `on`, and a
    snapshot request of its server, fired by that configuration or (not `by_config`) by hand."""
    channel = await add_webhook(pool, vault, "http://127.0.0.1:9/")
    config_id, server_id = await add_config(pool, notify={"on": on, "channel_ids": [str(channel)]})
    snapshot_id = await add_request(pool, server_id, config_id if by_config else None)
    return snapshot_id, config_id


class TestTriggers:
    def notifier(self, pool: asyncpg.Pool) -> Notifier:
        return Notifier(pool, SCHEMA, StubLink(), no_hooks())

    async def test_a_redelivered_failure_queues_one_delivery(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        snapshot_id, config_id = await request_notifying(pool, vault, "failure")
        event = SnapshotStatusChanged(
            snapshot_id=snapshot_id, status="failed", error="pg_dump exited 1"
        )

        notifier = self.notifier(pool)
        await notifier.on_snapshot_status(event)
        await notifier.on_snapshot_status(event)

        rows = await pool.fetch("SELECT kind, payload FROM api.notification_deliveries")
        assert [row["kind"] for row in rows] == ["backup_failed"]
        payload = json.loads(rows[0]["payload"])
        assert payload["error"] == "pg_dump exited 1"
        assert payload["config_id"] == str(config_id)

    async def test_a_success_does_not_notify_a_failure_only_configuration(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        snapshot_id, _ = await request_notifying(pool, vault, "failure")

        await self.notifier(pool).on_snapshot_status(
            SnapshotStatusChanged(snapshot_id=snapshot_id, status="completed")
        )

        assert await queued(pool) == []

    async def test_a_manual_backup_notifies_nobody(self, pool: asyncpg.Pool, vault: Vault) -> None:
        snapshot_id, _ = await request_notifying(pool, vault, "all", by_config=False)

        await self.notifier(pool).on_snapshot_status(
            SnapshotStatusChanged(snapshot_id=snapshot_id, status="failed")
        )

        assert await queued(pool) == []


class TestOverdueChecks:
    def checker(self, pool: asyncpg.Pool, link: StubLink) -> OverdueChecker:
        gauge = last_success_gauge(CollectorRegistry())
        return OverdueChecker(pool, SCHEMA, link, gauge, interval=1)

    async def test_one_replica_checks_at_a_time_and_an_episode_notifies_once(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        channel = await add_webhook(pool, vault, "http://127.0.0.1:9/")
        await add_config(
            pool,
            rpo_hours=1,
            created_at=NOW - timedelta(hours=3),
            notify={"channel_ids": [str(channel)]},
        )
        replicas = [self.checker(pool, StubLink()) for _ in range(2)]

        async with pool.acquire() as holder, holder.transaction():
            await holder.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext('databasement.overdue.' || $1))", SCHEMA
            )
            assert await replicas[0].check_once(now=NOW) is None  # another replica holds the pass
        opened = [
            await replica.check_once(now=NOW + timedelta(seconds=n))
            for n, replica in enumerate(replicas)
        ]

        assert opened == [1, 0]
        assert [row["kind"] for row in await queued(pool)] == ["backup_overdue"]

    async def test_a_success_closes_the_episode_and_a_later_miss_notifies_again(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        channel = await add_webhook(pool, vault, "http://127.0.0.1:9/")
        _, server_id = await add_config(
            pool,
            rpo_hours=1,
            created_at=NOW - timedelta(hours=3),
            notify={"channel_ids": [str(channel)]},
        )
        link = StubLink()
        checker = self.checker(pool, link)
        assert await checker.check_once(now=NOW) == 1

        link.finished_at = NOW + timedelta(minutes=5)
        assert await checker.check_once(now=NOW + timedelta(minutes=10)) == 0
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM api.overdue_state WHERE overdue_since IS NOT NULL"
            )
            == 0
        )
        assert await checker.check_once(now=NOW + timedelta(hours=2)) == 1

        assert [row["kind"] for row in await queued(pool)] == ["backup_overdue", "backup_overdue"]
        await checker.refresh_gauge()
        [metric] = list(checker.gauge.collect())
        [sample] = [s for s in metric.samples if s.labels["database"] == "shop"]
        assert sample.value == link.finished_at.timestamp()
        assert server_id

    async def test_a_configuration_of_all_databases_is_watched_as_star_until_it_fires(
        self, pool: asyncpg.Pool
    ) -> None:
        config_id, server_id = await add_config(
            pool, rpo_hours=1, created_at=NOW - timedelta(hours=3), databases={"mode": "all"}
        )
        checker = self.checker(pool, StubLink())
        assert await checker.check_once(now=NOW) == 1
        star = "SELECT database FROM api.overdue_state ORDER BY database"
        assert [row["database"] for row in await pool.fetch(star)] == ["*"]

        await add_request(pool, server_id, config_id)  # it fired for "shop"
        await checker.check_once(now=NOW + timedelta(minutes=1))

        assert [row["database"] for row in await pool.fetch(star)] == ["shop"]


class TestVolumeOverQuota:
    async def test_channels_of_configurations_writing_to_the_volume_are_told_once_a_day(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        channel = await add_webhook(pool, vault, "http://127.0.0.1:9/")
        await add_config(pool, notify={"on": "failure", "channel_ids": [str(channel)]})
        volume_id = await pool.fetchval("SELECT id FROM api.volumes LIMIT 1")

        first = await notify_volume_over_quota(
            pool, SCHEMA, volume_id=volume_id, volume_name="v", used_bytes=11, quota_bytes=10
        )
        again = await notify_volume_over_quota(
            pool, SCHEMA, volume_id=volume_id, volume_name="v", used_bytes=12, quota_bytes=10
        )
        other = await notify_volume_over_quota(
            pool, SCHEMA, volume_id=uuid4(), volume_name="w", used_bytes=12, quota_bytes=10
        )

        assert (first, again, other) == (1, 0, 0)
        [row] = await pool.fetch("SELECT kind, payload FROM api.notification_deliveries")
        assert row["kind"] == "volume_over_quota"
        assert json.loads(row["payload"])["quota_bytes"] == 10

    async def test_the_quota_check_hook_queues_for_the_firing_configuration(
        self, pool: asyncpg.Pool, vault: Vault
    ) -> None:
        channel = await add_webhook(pool, vault, "http://127.0.0.1:9/")
        config_id, _ = await add_config(pool, notify={"channel_ids": [str(channel)]})
        hook = over_quota_hook(pool, SCHEMA, config_id=config_id)

        await hook(OverQuota(uuid4(), "full", used_bytes=20, quota_bytes=10, action="refuse"))

        [row] = await pool.fetch("SELECT kind, payload FROM api.notification_deliveries")
        assert json.loads(row["payload"])["refused"] is True
        assert json.loads(row["payload"])["message"].startswith("Volume full holds 20 bytes")
