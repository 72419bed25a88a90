"""The one backup flow, for a manual backup and for a configuration: it chooses the
databases, unseals the server's password once, and names what is missing."""

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from services.api.configs.model import BackupConfig
from services.api.databases import DatabaseLists
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.keys import Keys
from services.api.models import Server, Volume
from services.api.schemas import BackupCreate
from services.api.usecases.backups import (
    BackupTools,
    config_order,
    manual_order,
    plan_backup_order,
)
from shared.sealing import Sealer
from tests.unit.api.test_outbox_payload import NOW, s3_volume, server


class CountingVault(Sealer):
    """A vault that counts how often each token is opened."""

    def __init__(self) -> None:
        super().__init__(SecretStr(Fernet.generate_key().decode()))
        self.opened: dict[str, int] = {}

    def unseal(self, token: str) -> Any:
        self.opened[token] = self.opened.get(token, 0) + 1
        return super().unseal(token)


class Found:
    """A repository that finds what it was given, by id."""

    def __init__(self, *items: Server | Volume) -> None:
        self._items = {item.id: item for item in items}

    async def get(self, item_id: UUID) -> Server | Volume | None:
        return self._items.get(item_id)


class FakeLink:
    """The dumper lists `databases`; the catalog knows no earlier snapshot."""

    def __init__(self, databases: list[str]) -> None:
        self.databases = databases
        self.listed = 0
        self.ready = asyncio.Event()
        self.ready.set()

    async def ask_dumper(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        del wait
        assert body["op"] == "list_databases"
        self.listed += 1
        return {"ok": True, "databases": self.databases}

    async def ask_catalog(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        del body, wait
        return {"ok": True, "snapshots": [], "next_cursor": None}


def tools(vault: CountingVault, link: FakeLink, *found: Server | Volume) -> BackupTools:
    sealer = Sealer(SecretStr(Fernet.generate_key().decode()))
    return BackupTools(
        servers=Found(*found),  # type: ignore[arg-type]
        volumes=Found(*found),  # type: ignore[arg-type]
        link=link,  # type: ignore[arg-type]
        lists=DatabaseLists(ttl=60),
        keys=Keys(vault=vault, sealer=sealer),  # type: ignore[arg-type]
    )


def config(source: Server, volume: Volume, **databases: Any) -> BackupConfig:
    return BackupConfig.model_validate(
        {
            "id": uuid4(),
            "name": "nightly",
            "server_id": source.id,
            "volume_ids": [volume.id],
            "databases": databases,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )


class TestManualBackup:
    async def test_every_user_database_is_planned_and_the_password_opened_once(self) -> None:
        vault = CountingVault()
        source, volume = server(vault), s3_volume(vault)
        link = FakeLink(["shop", "crm", "mysql"])
        body = BackupCreate(server_id=source.id, database=None, volume_id=volume.id)

        planned = await plan_backup_order(
            manual_order(body), tools(vault, link, source, volume), now=NOW
        )

        assert [request.database for request, _ in planned] == ["crm", "shop"]
        assert vault.opened[source.password_sealed] == 1
        assert {request.config_id for request, _ in planned} == {None}

    async def test_a_missing_server_is_named(self) -> None:
        vault = CountingVault()
        volume = s3_volume(vault)
        missing = uuid4()
        body = BackupCreate(server_id=missing, database="shop", volume_id=volume.id)

        with pytest.raises(NotFoundError, match=f"server {missing} does not exist"):
            await plan_backup_order(manual_order(body), tools(vault, FakeLink([]), volume), now=NOW)

    async def test_a_server_without_user_databases_is_refused(self) -> None:
        vault = CountingVault()
        source, volume = server(vault), s3_volume(vault)
        body = BackupCreate(server_id=source.id, database=None, volume_id=volume.id)

        with pytest.raises(InvalidRequestError, match="has no database to back up"):
            await plan_backup_order(
                manual_order(body), tools(vault, FakeLink(["mysql"]), source, volume), now=NOW
            )


class TestConfiguredBackup:
    async def test_a_named_list_is_not_asked_of_the_dumper(self) -> None:
        vault = CountingVault()
        source, volume = server(vault), s3_volume(vault)
        link = FakeLink(["shop"])
        chosen = config(source, volume, mode="list", names=["shop", "blog"])

        planned = await plan_backup_order(
            config_order(chosen), tools(vault, link, source, volume), now=NOW
        )

        assert sorted(request.database for request, _ in planned) == ["blog", "shop"]
        assert {request.config_id for request, _ in planned} == {chosen.id}
        assert {event.config_id for _, event in planned} == {chosen.id}
        assert link.listed == 0
        assert vault.opened[source.password_sealed] == 1

    async def test_a_volume_gone_is_named_with_its_configuration(self) -> None:
        vault = CountingVault()
        source, volume = server(vault), s3_volume(vault)
        chosen = config(source, volume, mode="all")

        with pytest.raises(NotFoundError, match="of configuration 'nightly' is gone"):
            await plan_backup_order(
                config_order(chosen), tools(vault, FakeLink(["shop"]), source), now=NOW
            )
