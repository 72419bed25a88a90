"""POST /backups: 202 at once, the outbox publishes a sealed BackupRequested, errors say why."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from pydantic import SecretStr

from shared.events import BackupRequested
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.specs import ConnectionSpec, LocalVolumeSpec
from tests.integration.api.conftest import CLOSED_BROKER, api_settings, register, running_api

pytestmark = pytest.mark.integration

MISSING = "00000000-0000-4000-8000-000000000000"


def backup(server_id: str, volume_id: str, database: str | None = "shop", **extra: Any):
    return {"server_id": server_id, "database": database, "volume_id": volume_id} | extra


class TestBackupRequest:
    async def test_answers_202_pending_and_publishes_a_sealed_request(self, api, backup_requests):
        server_id, volume_id = await register(api)
        response = await api.post("/api/v1/backups", json=backup(server_id, volume_id))
        assert response.status_code == 202
        [snapshot] = response.json()["snapshots"]
        assert snapshot["database"] == "shop"
        assert snapshot["status"] == "pending"
        message = await backup_requests()
        assert b"hunter2" not in message.body
        event = BackupRequested.model_validate_json(message.body)
        assert str(event.snapshot_id) == snapshot["id"]
        assert event.destination.compression == "gzip"
        assert event.destination.artifact_key.startswith("prod/shop/")
        assert event.destination.artifact_key.endswith(f"_{snapshot['id']}.sql.gz")
        sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        connection = ConnectionSpec.model_validate(sealer.unseal(event.connection))
        assert connection.password.get_secret_value() == "hunter2-secret"
        assert (connection.host, connection.port, connection.type) == (
            "db.internal",
            5432,
            "postgresql",
        )
        volume = LocalVolumeSpec.model_validate(sealer.unseal(event.destination.volume))
        assert volume.config.path == "/srv/backups"

    async def test_zstd_is_passed_on(self, api, backup_requests):
        server_id, volume_id = await register(api)
        body = backup(server_id, volume_id, compression="zstd")
        assert (await api.post("/api/v1/backups", json=body)).status_code == 202
        event = BackupRequested.model_validate_json((await backup_requests()).body)
        assert event.destination.compression == "zstd"
        assert event.destination.artifact_key.endswith(".sql.zst")

    async def test_unknown_server_is_404(self, api):
        _, volume_id = await register(api)
        response = await api.post("/api/v1/backups", json=backup(MISSING, volume_id))
        assert response.status_code == 404
        assert response.json() == {"detail": f"server {MISSING} does not exist"}

    async def test_unknown_volume_is_404(self, api):
        server_id, _ = await register(api)
        response = await api.post("/api/v1/backups", json=backup(server_id, MISSING))
        assert response.status_code == 404
        assert response.json() == {"detail": f"volume {MISSING} does not exist"}

    @pytest.mark.parametrize(
        "change",
        [{"compression": "lz4"}, {"server_id": "nope"}, {"database": ""}, {"extra": 1}],
    )
    async def test_invalid_body_is_422(self, api, change):
        server_id, volume_id = await register(api)
        response = await api.post("/api/v1/backups", json=backup(server_id, volume_id) | change)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request: ")


class TestSeveralVolumes:
    async def test_volume_ids_become_copies_after_the_primary(self, api, backup_requests):
        server_id, volume_id = await register(api)
        second = await api.post(
            "/api/v1/volumes",
            json={"name": "nas2", "type": "local", "config": {"path": "/srv/copies"}},
        )
        assert second.status_code == 201, second.text
        second_id = second.json()["id"]
        body = backup(server_id, volume_id, volume_ids=[second_id, volume_id], encrypt=True)
        response = await api.post("/api/v1/backups", json=body)
        assert response.status_code == 202, response.text
        event = BackupRequested.model_validate_json((await backup_requests()).body)
        assert str(event.destination.volume_id) == volume_id
        assert [str(copy.volume_id) for copy in event.copies] == [second_id]
        assert event.encrypted is True
        assert event.copies[0].artifact_key == event.destination.artifact_key
        assert event.destination.artifact_key.endswith(".sql.gz.enc")
        sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        copy = LocalVolumeSpec.model_validate(sealer.unseal(event.copies[0].volume))
        assert copy.config.path == "/srv/copies"

    async def test_volume_ids_alone_are_enough(self, api, backup_requests):
        server_id, volume_id = await register(api)
        body = {"server_id": server_id, "database": "shop", "volume_ids": [volume_id]}
        assert (await api.post("/api/v1/backups", json=body)).status_code == 202
        event = BackupRequested.model_validate_json((await backup_requests()).body)
        assert str(event.destination.volume_id) == volume_id
        assert event.copies == []

    async def test_no_volume_is_422_with_a_sentence(self, api):
        server_id, _ = await register(api)
        body = {"server_id": server_id, "database": "shop"}
        response = await api.post("/api/v1/backups", json=body)
        assert response.status_code == 422
        assert "name at least one volume" in response.json()["detail"]

    async def test_an_unknown_copy_volume_is_404_naming_it(self, api):
        server_id, volume_id = await register(api)
        body = backup(server_id, volume_id, volume_ids=[MISSING])
        response = await api.post("/api/v1/backups", json=body)
        assert response.status_code == 404
        assert response.json() == {"detail": f"volume {MISSING} does not exist"}


class TestEveryDatabase:
    async def test_one_snapshot_per_user_database(self, api, dumper, backup_requests):
        server_id, volume_id = await register(api)
        dumper.replies["list_databases"] = {
            "ok": True,
            "databases": ["shop", "postgres", "crm", "template1"],
        }
        response = await api.post("/api/v1/backups", json=backup(server_id, volume_id, None))
        assert response.status_code == 202, response.text
        databases = sorted(s["database"] for s in response.json()["snapshots"])
        assert databases == ["crm", "shop"]
        [query] = dumper.asked
        assert query["op"] == "list_databases"
        assert "hunter2" not in json.dumps(query)
        published = {
            BackupRequested.model_validate_json((await backup_requests()).body).database
            for _ in range(2)
        }
        assert published == {"crm", "shop"}

    async def test_a_dumper_error_is_422_with_its_sentence(self, api, dumper):
        server_id, volume_id = await register(api)
        reply = {"ok": False, "error": "password authentication failed for user backup"}
        dumper.replies["list_databases"] = reply
        response = await api.post("/api/v1/backups", json=backup(server_id, volume_id, None))
        assert response.status_code == 422
        assert response.json() == {
            "detail": "cannot list the databases of server 'prod': "
            "password authentication failed for user backup"
        }


class TestNoDumper:
    @pytest.fixture
    def api_options(self) -> dict[str, Any]:
        return {"query_timeout": 0.5, "outbox_interval": 0.2}

    @pytest.fixture
    def dumper_running(self) -> bool:
        return False

    async def test_no_dumper_answering_is_503(self, api):
        server_id, volume_id = await register(api)
        response = await api.post("/api/v1/backups", json=backup(server_id, volume_id, None))
        assert response.status_code == 503
        assert response.json() == {"detail": "the dumper did not answer within 0.5 s"}


class TestOutbox:
    async def test_requests_accepted_while_the_broker_is_down_are_published_later(
        self, rabbit_url, namespace, pg_database, backup_requests
    ):
        """One api replica accepts without a broker; another relays its outbox once up."""
        offline = api_settings(CLOSED_BROKER, namespace, pg_database, outbox_interval=0.2)
        async with running_api(offline) as api:
            server_id, volume_id = await register(api)
            response = await api.post("/api/v1/backups", json=backup(server_id, volume_id))
            assert response.status_code == 202
            snapshot_id = response.json()["snapshots"][0]["id"]
            await asyncio.sleep(0.5)  # the relay tried and failed meanwhile
        conn = await asyncpg.connect(pg_database)
        try:
            unsent = await conn.fetch(
                "SELECT snapshot_id, payload::text FROM api.outbox WHERE sent_at IS NULL"
            )
            requested = await conn.fetchval("SELECT count(*) FROM api.snapshots_requested")
        finally:
            await conn.close()
        assert [str(row["snapshot_id"]) for row in unsent] == [snapshot_id]
        assert "hunter2" not in unsent[0]["payload"]
        assert requested == 1
        online = api_settings(rabbit_url, namespace, pg_database, outbox_interval=0.2)
        async with running_api(online):
            event = BackupRequested.model_validate_json((await backup_requests()).body)
            # The relay marks a row sent after its publish is confirmed: the event can arrive
            # before the mark, so wait for the mark itself (with the relay still running).
            assert await unsent_rows_once_settled(pg_database) == 0
        assert str(event.snapshot_id) == snapshot_id


async def unsent_rows_once_settled(database_url: str, timeout: float = 15) -> int:
    """The number of unsent outbox rows, polled until none remain or `timeout` passes."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            unsent = await conn.fetchval("SELECT count(*) FROM api.outbox WHERE sent_at IS NULL")
            if unsent == 0 or asyncio.get_running_loop().time() > deadline:
                return int(unsent)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def tcp_proxy(port: int, target: tuple[str, int]) -> AsyncIterator[None]:
    """Forward 127.0.0.1:`port` to `target`: a broker that 'comes back' on that port."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestBrokerComesBack:
    async def test_the_same_api_publishes_once_its_broker_is_reachable(
        self, rabbit_url, namespace, pg_database, backup_requests
    ):
        parts = urlsplit(rabbit_url)
        port = free_port()
        url = f"amqp://{parts.username}:{parts.password}@127.0.0.1:{port}/"
        settings = api_settings(url, namespace, pg_database, outbox_interval=0.2)
        async with running_api(settings) as api:
            server_id, volume_id = await register(api)
            response = await api.post("/api/v1/backups", json=backup(server_id, volume_id))
            assert response.status_code == 202
            snapshot_id = response.json()["snapshots"][0]["id"]
            async with tcp_proxy(port, (parts.hostname or "127.0.0.1", parts.port or 5672)):
                message = await backup_requests(timeout=15)
        assert str(BackupRequested.model_validate_json(message.body).snapshot_id) == snapshot_id
