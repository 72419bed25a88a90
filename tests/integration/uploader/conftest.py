"""A real uploader app on this test's broker namespace, PostgreSQL database and staging dir."""

import asyncio
import contextlib
import gzip
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import pytest
from cryptography.fernet import Fernet
from faststream import TestApp
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel, SecretStr

from services.uploader.app import build_app
from services.uploader.settings import UploaderSettings
from shared.events import ChunkStaged, Destination, DumpFinished, Event, chunk_key
from shared.messaging import publish_event
from shared.naming import artifact_key
from shared.sealing import Sealer
from shared.settings import BrokerSettings, DatabaseSettings, SealSettings, StagingSettings
from shared.staging import LocalStaging, attempt_prefix
from shared.topology import Topology

MIB = 1024 * 1024
WATCHED = (
    "chunk.stored",
    "backup.stored",
    "upload.failed",
    "snapshot.deleted",
    "snapshot.delete_failed",
)


def gzip_member(size: int) -> tuple[bytes, bytes]:
    """(raw, compressed): random bytes barely compress, so the member is about `size` long."""
    raw = os.urandom(size)
    return raw, gzip.compress(raw, compresslevel=1)


@dataclass
class Attempt:
    """One dump attempt's staged chunks and the events that announce them."""

    snapshot_id: UUID
    attempt_id: UUID
    destination: Destination
    copies: list[Destination] = field(default_factory=list)
    chunks: list[ChunkStaged] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)

    @property
    def artifact(self) -> bytes:
        return b"".join(self.blobs)

    def finished(self) -> DumpFinished:
        return DumpFinished(
            snapshot_id=self.snapshot_id,
            attempt_id=self.attempt_id,
            chunk_count=len(self.chunks),
            raw_size=sum(c.raw_size for c in self.chunks),
            size=len(self.artifact),
            sha256=hashlib.sha256(self.artifact).hexdigest(),
            tool="pg_dump",
            tool_version="pg_dump (PostgreSQL) 15.14",
            server_version="15.14",
            table_rows={"public.t": 3},
            destination=self.destination,
            copies=self.copies,
            started_at=datetime.now(UTC),
        )


@dataclass
class Uploader:
    """Drives a running uploader: stage chunks, publish events, watch what it publishes."""

    broker: RabbitBroker
    topology: Topology
    staging: LocalStaging
    sealer: Sealer
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]]
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def publish(self, *events: Event) -> None:
        for event in events:
            await publish_event(self.broker, self.topology, event)

    def destination(self, spec: BaseModel, snapshot_id: UUID) -> Destination:
        key = artifact_key(
            server_name="prod-db",
            database="shop",
            requested_at=datetime.now(UTC),
            snapshot_id=snapshot_id,
            compression="gzip",
        )
        return Destination(
            volume_id=uuid4(), volume=self.sealer.seal(spec), artifact_key=key, compression="gzip"
        )

    def copy_of(self, destination: Destination, spec: BaseModel) -> Destination:
        """The same artifact on another volume: a copy."""
        return destination.model_copy(
            update={"volume_id": uuid4(), "volume": self.sealer.seal(spec)}
        )

    def attempt(
        self, destination: Destination, snapshot_id: UUID, copies: list[Destination] | None = None
    ) -> Attempt:
        return Attempt(snapshot_id, uuid4(), destination, list(copies or []))

    async def stage(self, attempt: Attempt, raw: bytes, compressed: bytes) -> ChunkStaged:
        seq = len(attempt.chunks)
        key = chunk_key(attempt.snapshot_id, attempt.attempt_id, seq)
        await self.staging.put(key, compressed)
        event = ChunkStaged(
            snapshot_id=attempt.snapshot_id,
            attempt_id=attempt.attempt_id,
            seq=seq,
            raw_size=len(raw),
            size=len(compressed),
            sha256=hashlib.sha256(compressed).hexdigest(),
            staged_key=key,
            destination=attempt.destination,
            copies=attempt.copies,
        )
        attempt.chunks.append(event)
        attempt.blobs.append(compressed)
        return event

    async def staged_count(self, attempt: Attempt) -> int:
        return await self.staging.count(attempt_prefix(attempt.snapshot_id))

    async def next_event(
        self, routing_key: str, *, timeout: float = 30, **match: Any
    ) -> dict[str, Any]:
        """The next event published under `routing_key` whose fields equal `match`."""
        for key, body in self.seen:
            if key == routing_key and all(str(body.get(k)) == str(v) for k, v in match.items()):
                self.seen.remove((key, body))
                return body
        async with asyncio.timeout(timeout):
            while True:
                key, body = await self.inbox.get()
                if key == routing_key and all(str(body.get(k)) == str(v) for k, v in match.items()):
                    return body
                self.seen.append((key, body))

    async def drain(
        self,
        quiet: float,
        *,
        until: Callable[[list[tuple[str, dict[str, Any]]]], bool] = lambda _: True,
        timeout: float = 30,
    ) -> list[tuple[str, dict[str, Any]]]:
        """What was set aside plus what is published meanwhile: once `until` holds of it
        (within `timeout`), then through a silence window of `quiet` seconds, in which a test
        expects nothing more that matters."""
        async with asyncio.timeout(timeout):
            while not until(self.seen):
                self.seen.append(await self.inbox.get())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(quiet):
                while True:
                    self.seen.append(await self.inbox.get())
        return self.seen


def stored_seqs(events: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """The `seq` of every chunk.stored among `events`."""
    return [body["seq"] for key, body in events if key == "chunk.stored"]


async def wait_until(condition, *, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


@pytest.fixture
def staging_dir(tmp_path: Path) -> Path:
    path = tmp_path / "staging"
    path.mkdir()
    return path


@pytest.fixture
def uploader_settings(
    rabbit_url: str, namespace: str, pg_database: str, staging_dir: Path
) -> UploaderSettings:
    return UploaderSettings(
        broker=BrokerSettings(url=SecretStr(rabbit_url), namespace=namespace, delivery_limit=2),
        database=DatabaseSettings(url=SecretStr(pg_database)),
        staging=StagingSettings(kind="local", path=staging_dir),
        seal=SealSettings(key=SecretStr(Fernet.generate_key().decode())),
    )


@pytest.fixture
async def replica(uploader: "Uploader", uploader_settings: UploaderSettings) -> AsyncIterator[None]:
    """A second uploader process's app on the same queue, database and staging area."""
    async with TestApp(build_app(uploader_settings)):
        yield


@pytest.fixture
async def uploader(
    rabbit_url: str, uploader_settings: UploaderSettings, staging_dir: Path
) -> AsyncIterator[Uploader]:
    settings = uploader_settings
    key = settings.seal.key
    namespace = settings.broker.namespace
    topology = Topology(namespace, settings.broker.delivery_limit)
    app = build_app(settings)
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    async with TestApp(app):
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            for routing_key in WATCHED:
                await queue.bind(topology.events.name, routing_key=routing_key)

            async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with message.process():
                    await inbox.put((message.routing_key or "", json.loads(message.body)))

            await queue.consume(collect)
            assert app.broker is not None
            yield Uploader(
                app.broker,  # type: ignore[arg-type]
                topology,
                LocalStaging(staging_dir),
                Sealer(key),
                inbox,
            )
