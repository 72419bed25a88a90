"""A thin client of the HTTP contract, as a script would use it."""

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.resources import MariaDB, unique

TERMINAL = {"completed", "failed"}


class Api:
    """Calls the api over real HTTP and asserts the contract's status codes."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def add_server(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/api/v1/servers", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def add_volume(self, name: str, type_: str, config: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/volumes", json={"name": name, "type": type_, "config": config}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def backup(
        self, server_id: str, database: str | None, volume_id: str, compression: str = "gzip"
    ) -> list[dict[str, Any]]:
        response = await self.http.post(
            "/api/v1/backups",
            json={
                "server_id": server_id,
                "database": database,
                "volume_id": volume_id,
                "compression": compression,
            },
        )
        assert response.status_code == 202, response.text
        snapshots = response.json()["snapshots"]
        assert all(s["status"] == "pending" for s in snapshots)
        return snapshots

    async def refused_backup(self, server_id: str, database: str, volume_id: str) -> str:
        """Ask for a backup the api must refuse before queueing it (422); its sentence."""
        response = await self.http.post(
            "/api/v1/backups",
            json={"server_id": server_id, "database": database, "volume_id": volume_id},
        )
        assert response.status_code == 422, response.text
        detail: str = response.json()["detail"]
        return detail

    async def snapshot(self, snapshot_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/snapshots/{snapshot_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def snapshots(self, **filters: Any) -> list[dict[str, Any]]:
        """One page of the snapshot list (`{"items": [...], "next_cursor": ...}`)."""
        response = await self.http.get("/api/v1/snapshots", params=filters)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def wait_terminal(self, snapshot_id: str, timeout: float = 120) -> dict[str, Any]:
        """Poll until the snapshot is completed or failed; fail the test if it never is."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = await self.snapshot(snapshot_id)
            if snapshot["status"] in TERMINAL:
                return snapshot
            if time.monotonic() > deadline:
                msg = f"snapshot {snapshot_id} still {snapshot['status']} after {timeout}s"
                raise AssertionError(msg)
            await asyncio.sleep(0.3)

    async def add_postgres_server(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5432,
        password: str = "trust-auth",  # noqa: S107 - trust auth checks none
    ) -> dict[str, Any]:
        """The local PostgreSQL (trust auth: the password is carried but not checked)."""
        return await self.add_server(
            name=unique("pg-"),
            type="postgresql",
            host=host,
            port=port,
            username="postgres",
            password=password,
        )

    async def add_maria_server(
        self,
        server: MariaDB,
        *,
        type_: str = "mariadb",
        username: str | None = None,
        password: str | None = None,
    ) -> dict[str, Any]:
        return await self.add_server(
            name=unique("maria-"),
            type=type_,
            host=server.host,
            port=server.port,
            username=username or server.user,
            password=server.password if password is None else password,
        )

    async def add_local_volume(self, path: Path) -> dict[str, Any]:
        return await self.add_volume(unique("local-"), "local", {"path": str(path)})

    # Issue 6: restores and verifies.

    async def restore(
        self, snapshot_id: str, server_id: str, database: str, *, overwrite: bool = False
    ) -> dict[str, Any]:
        """POST /api/v1/restores, which must be accepted (202, pending)."""
        response = await self.request_restore(snapshot_id, server_id, database, overwrite)
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        assert accepted["status"] == "pending", accepted
        return accepted

    async def refused_restore(
        self, snapshot_id: str, server_id: str, database: str, *, status: int
    ) -> str:
        """POST /api/v1/restores, which must be refused with `status`; its sentence."""
        response = await self.request_restore(snapshot_id, server_id, database, False)
        assert response.status_code == status, response.text
        detail: str = response.json()["detail"]
        return detail

    async def request_restore(
        self, snapshot_id: str, server_id: str, database: str, overwrite: bool
    ) -> httpx.Response:
        body = {
            "snapshot_id": snapshot_id,
            "server_id": server_id,
            "database": database,
            "overwrite": overwrite,
        }
        return await self.http.post("/api/v1/restores", json=body)

    async def verify(self, snapshot_id: str, server_id: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/api/v1/snapshots/{snapshot_id}/verify", json={"server_id": server_id}
        )
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        return accepted

    async def restore_record(self, restore_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/restores/{restore_id}")
        assert response.status_code == 200, response.text
        record: dict[str, Any] = response.json()
        return record

    async def restores(self, **filters: Any) -> list[dict[str, Any]]:
        """One page of GET /api/v1/restores (`{"items": [...], "next_cursor": ...}`)."""
        response = await self.http.get("/api/v1/restores", params=filters)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def wait_restore(self, restore_id: str, timeout: float = 120) -> dict[str, Any]:
        """Poll until the restore is completed or failed; fail the test if it never is."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.restore_record(restore_id)
            if record["status"] in TERMINAL:
                return record
            if time.monotonic() > deadline:
                msg = f"restore {restore_id} still {record['status']} after {timeout}s"
                raise AssertionError(msg)
            await asyncio.sleep(0.3)


def signed_in_client(stack: Any, password: str, *, user: str = "admin") -> httpx.Client:
    """A plain HTTP client with a web UI session, signed in through the form as a browser
    would."""
    client = httpx.Client(base_url=stack.api_url, timeout=30)
    form = client.get("/ui/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found is not None, form
    done = client.post(
        "/ui/login", data={"csrf_token": found.group(1), "username": user, "password": password}
    )
    assert done.status_code == 303, done.text
    return client
