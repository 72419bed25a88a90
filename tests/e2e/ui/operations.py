"""What the configuration browser tests share: a configuration made through the API, waits on
the API, and the Configurations page's steps."""

import asyncio
import time
from typing import Any

from tests.e2e.client import Api
from tests.fixtures.resources import unique


async def create_config(api: Api, server_id: str, database: str, volume_ids: list[str], **extra):
    body = {
        "name": unique("ui-cfg-"),
        "server_id": server_id,
        "databases": {"mode": "list", "names": [database]},
        "volume_ids": volume_ids,
        **extra,
    }
    response = await api.http.post("/api/v1/backup-configs", json=body)
    assert response.status_code == 201, response.text
    config: dict[str, Any] = response.json()
    return config


async def wait_status(api: Api, snapshot_id: str, status: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (current := (await api.snapshot(snapshot_id))["status"]) != status:
        assert time.monotonic() < deadline, f"{snapshot_id} still {current} after {timeout}s"
        await asyncio.sleep(0.3)


async def wait_fired(api: Api, config_id: str, timeout: float = 90) -> dict[str, Any]:
    """The configuration once its scheduler has fired a slot (`last_fired_at` set)."""
    deadline = time.monotonic() + timeout
    while True:
        config: dict[str, Any] = (await api.http.get(f"/api/v1/backup-configs/{config_id}")).json()
        if config["last_fired_at"]:
            return config
        assert time.monotonic() < deadline, f"no slot fired within {timeout}s"
        await asyncio.sleep(1)


async def open_configurations(page) -> None:
    await page.click("nav >> text=Configurations")
    await page.wait_for_url("**/ui/configs")
    await page.wait_for_load_state()


async def fill_new_config(form, name: str, server_id: str, database: str, volumes: list) -> None:
    """The Add form: a list of one database, two volumes, a cron the API refuses, keep 3."""
    await form.get_by_label("Name", exact=True).fill(name)
    await form.locator("select[name=server_id]").select_option(server_id)
    await form.get_by_role("radio", name="These names").check()
    await form.locator("input[name=names]").fill(database)
    for volume in volumes:
        await form.get_by_role("checkbox", name=f"{volume['name']} (local)").check()
    await form.locator("input[name=schedule]").fill("every night")
    await form.locator("input[name=timezone]").fill("Europe/Berlin")
    await form.locator("input[name=keep_last]").fill("3")
    await form.get_by_role("checkbox", name="Encrypt").check()
