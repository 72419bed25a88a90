"""A real dumper app on this test's namespace, plus a stand-in uploader that takes staged chunks."""

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from faststream import AckPolicy, TestApp
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitQueue
from pydantic import SecretStr

from services.dumper.app import build_app
from services.dumper.settings import DumperSettings
from shared.events import (
    EVENTS_BY_KEY,
    BackupRequested,
    ChunkStaged,
    Destination,
    DumpFailed,
    DumpFinished,
    Event,
    ServerType,
    utc_now,
)
from shared.messaging import publish_event
from shared.queries import Query
from shared.sealing import Sealer
from shared.settings import (
    DEV_SEAL_KEY,
    BrokerSettings,
    DatabaseSettings,
    SealSettings,
    StagingSettings,
)
from shared.specs import ConnectionSpec, LocalVolumeConfig, LocalVolumeSpec
from shared.staging import LocalStaging
from shared.topology import Topology
from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import MariaDB, database_url, unique

MIB = 1024 * 1024
RECORDED_CANCEL = "SELECT true FROM {schema}.cancelled_snapshots WHERE snapshot_id = $1"


@dataclass
class DumperStack:
    """Drives a running dumper: request backups, watch its events, ask its queries."""

    broker: RabbitBroker
    topology: Topology
    staging: LocalStaging
    sealer: Sealer
    settings: DumperSettings
    take_chunks: bool = True
    events: list[Event] = field(default_factory=list)
    chunks: dict[tuple[UUID, int], bytes] = field(default_factory=dict)

    def request(
        self, spec: ConnectionSpec, database: str, *, compression: str = "gzip"
    ) -> BackupRequested:
        volume = LocalVolumeSpec(config=LocalVolumeConfig(path="/srv/unused"))
        return BackupRequested(
            snapshot_id=uuid4(),
            server_id=uuid4(),
            server_name="itest",
            server_type=spec.type,
            database=database,
            connection=self.sealer.seal(spec),
            destination=Destination(
                volume_id=uuid4(),
                volume=self.sealer.seal(volume),
                artifact_key=f"itest/{database}/x.sql.gz",
                compression=compression,  # type: ignore[arg-type]
            ),
            requested_at=utc_now(),
        )

    async def publish(self, event: Event) -> None:
        await publish_event(self.broker, self.topology, event)

    def of(self, snapshot_id: UUID, kind: type[Event] = Event) -> list[Any]:
        return [e for e in self.events if e.snapshot_id == snapshot_id and isinstance(e, kind)]

    async def outcome(self, snapshot_id: UUID, timeout: float = 60) -> DumpFinished | DumpFailed:
        """The dump's terminal event; for a finished dump, once every chunk it counts is taken.

        The broker does not promise that the last ChunkStaged reaches the stand-in uploader
        before DumpFinished, so a finished dump also waits for its chunks.
        """
        async with asyncio.timeout(timeout):
            while True:
                done = self.of(snapshot_id, DumpFinished) + self.of(snapshot_id, DumpFailed)
                if done and (not isinstance(done[0], DumpFinished) or self._all_taken(done[0])):
                    return done[0]  # type: ignore[no-any-return]
                await asyncio.sleep(0.05)

    def announced_files(self, snapshot_id: UUID) -> set[Path]:
        """Where the snapshot's announced chunks are staged (what the uploader was told)."""
        return {self.staging.root / e.staged_key for e in self.of(snapshot_id, ChunkStaged)}

    def _all_taken(self, finished: DumpFinished) -> bool:
        if not self.take_chunks:
            return True
        staged = {
            e.seq
            for e in self.of(finished.snapshot_id, ChunkStaged)
            if e.attempt_id == finished.attempt_id
        }
        return staged >= set(range(finished.chunk_count))

    async def cancel_recorded(self, snapshot_id: UUID, timeout: float = 20) -> None:
        """Once the dumper has recorded the snapshot's cancel in its database."""
        conn = await asyncpg.connect(self.settings.database.url.get_secret_value())
        try:
            async with asyncio.timeout(timeout):
                while not await conn.fetchval(
                    RECORDED_CANCEL.format(schema=self.schema), snapshot_id
                ):
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    @property
    def schema(self) -> str:
        return self.settings.schema_name

    def artifact(self, finished: DumpFinished) -> bytes:
        return b"".join(
            self.chunks[(finished.attempt_id, seq)] for seq in range(finished.chunk_count)
        )

    async def ask(self, query: Query[Any]) -> dict[str, Any]:
        """The dumper's reply as it travels."""
        response = await self.broker.request(
            query.model_dump(mode="json"), queue=self.topology.dumper_queries, timeout=20
        )
        body: dict[str, Any] = await response.decode()  # type: ignore[assignment]
        return body


@pytest.fixture
async def dumper_env(rabbit_url, namespace, pg_database, tmp_path) -> AsyncIterator[DumperStack]:
    """A stand-in uploader on the namespace, and the settings a dumper app would run with.

    The dumper uses small blocks, so a few MB make several chunks.
    """
    staging_root = tmp_path / "staging"
    settings = DumperSettings(
        broker=BrokerSettings(
            url=SecretStr(rabbit_url), namespace=namespace, delivery_limit=3, graceful_timeout=1
        ),
        database=DatabaseSettings(url=SecretStr(pg_database)),
        staging=StagingSettings(path=staging_root),
        seal=SealSettings(key=SecretStr(DEV_SEAL_KEY)),
        http_port=0,
        block_size=512 * 1024,
        min_part_size=5 * MIB,
        max_staged_chunks=2,
        connect_timeout=5,
    )
    topology = Topology(namespace, settings.broker.delivery_limit)
    stack = DumperStack(
        broker=RabbitBroker(rabbit_url),
        topology=topology,
        staging=LocalStaging(staging_root),
        sealer=Sealer(settings.seal.key),
        settings=settings,
    )
    watch = RabbitQueue(f"{namespace}.test-uploader", auto_delete=True, routing_key="#")

    @stack.broker.subscriber(watch, topology.events, ack_policy=AckPolicy.ACK)
    async def play_uploader(body: dict[str, Any], message: RabbitMessage) -> None:
        event = EVENTS_BY_KEY[message.raw_message.routing_key or ""].model_validate(body)
        if isinstance(event, ChunkStaged) and stack.take_chunks:
            data = await stack.staging.get(event.staged_key)
            stack.chunks[(event.attempt_id, event.seq)] = data
            await stack.staging.delete(event.staged_key)
        stack.events.append(event)

    async with stack.broker:
        await stack.broker.start()
        yield stack


@pytest.fixture
async def dumper(dumper_env: DumperStack) -> AsyncIterator[DumperStack]:
    """A running dumper app and its stand-in uploader."""
    async with TestApp(build_app(dumper_env.settings)):
        yield dumper_env


def pg_spec(postgres_url: str, *, port: int | None = None, user: str | None = None):
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_url)
    return ConnectionSpec(
        type="postgresql",
        host=parts.hostname or "127.0.0.1",
        port=port or parts.port or 5432,
        username=user or parts.username or "postgres",
        password=SecretStr(parts.password or ""),
    )


def maria_spec(mariadb: MariaDB, kind: ServerType = "mariadb", *, password: str | None = None):
    return ConnectionSpec(
        type=kind,
        host=mariadb.host,
        port=mariadb.port,
        username=mariadb.user,
        password=SecretStr(mariadb.password if password is None else password),
    )


@pytest.fixture
async def pg_source(postgres_url) -> AsyncIterator[Callable[[], Any]]:
    """Makes fresh PostgreSQL databases (names returned), dropped after the test."""
    names: list[str] = []

    async def make() -> str:
        name = unique("dbm_src_")
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        names.append(name)
        return name

    yield make
    for name in names:
        drop_pg_database_later(postgres_url, name)


def pg_url(postgres_url: str, name: str) -> str:
    return database_url(postgres_url, name)


def run_tool(argv: list[str], data: bytes = b"", env: dict[str, str] | None = None) -> str:
    """Run a client tool; fail the test with its stderr when it fails."""
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed"
    done = subprocess.run([tool, *argv[1:]], input=data, capture_output=True, check=False, env=env)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def staged_files(root: Path, snapshot_id: UUID) -> list[Path]:
    folder = root / str(snapshot_id)
    with contextlib.suppress(FileNotFoundError):
        return list(folder.rglob("*.chunk"))
    return []


SOURCE_SQL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE items (
    id int PRIMARY KEY, txt text, bin bytea, m mood,
    twice int GENERATED ALWAYS AS (id * 2) STORED
);
INSERT INTO items (id, txt, bin, m)
SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) || 'żółw ✓' END,
       decode(md5(g::text), 'hex'), (ARRAY['sad','ok','happy']::mood[])[g % 3 + 1]
FROM generate_series(1, 60000) g;
CREATE VIEW happy AS SELECT id FROM items WHERE m = 'happy';
"""


@pytest.fixture
async def target(postgres_url):
    """A database name that does not exist yet; dropped after the test."""
    name = unique("dbm_restore_")
    yield name
    drop_pg_database_later(postgres_url, name)


@pytest.fixture
async def shop(dumper, postgres_url, pg_source):
    """A source database with enums, generated columns, NULLs, bytea and non-ASCII text."""
    source = await pg_source()
    conn = await asyncpg.connect(pg_url(postgres_url, source))
    try:
        await conn.execute(SOURCE_SQL)
    finally:
        await conn.close()
    return source
