"""Issue 8 in the browser: an encrypted backup to two volumes from the Backup dialog, Lock /
Unlock on the details (Delete refused with the API's sentence while locked), and the
Configurations page (listing, enable/disable, Run now, Prune dry run then Apply).

Real stack, real PostgreSQL source, local volumes; the assertions read the API and the
volumes' files, not only the page.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from tests.e2e.client import Api
from tests.e2e.ui.test_access import signed_in_client
from tests.fixtures.resources import database_url, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

LOCKED_SENTENCE = "snapshot is locked: unlock it before deleting it"


@pytest.fixture(scope="module")
async def small_source(postgres_url: str) -> AsyncIterator[str]:
    """A small PostgreSQL database: each dump takes a moment."""
    name = unique("dbm_ui_ops_")
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(database_url(postgres_url, name))
        await conn.execute(
            "CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);"
            "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g;"
        )
        await conn.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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


class TestEncryptedBackupToTwoVolumes:
    async def test_dialog_encrypts_and_stores_a_copy_on_each_volume(
        self, page, api, small_source, tmp_path: Path, shots
    ):
        server = await api.add_postgres_server()
        dirs = [tmp_path / "first", tmp_path / "second"]
        for path in dirs:
            path.mkdir()
        primary, second = [await api.add_local_volume(path) for path in dirs]

        await page.click("nav >> text=Database Servers")
        await page.wait_for_url("**/ui/servers")
        await page.wait_for_load_state()
        await page.locator(f"tr[data-server='{server['name']}'] button:has-text('Backup')").click()
        dialog = page.locator("#dialog")
        await expect(dialog).to_be_visible()
        await dialog.locator("select[name=database]").select_option(small_source)
        await dialog.locator("select[name=volume_id]").select_option(primary["id"])
        # The primary is not offered again as a copy.
        await expect(
            dialog.get_by_role("checkbox", name=f"{primary['name']} (local)")
        ).to_be_disabled()
        await dialog.get_by_role("checkbox", name=f"{second['name']} (local)").check()
        await dialog.get_by_role("checkbox", name="Encrypt").check()
        await shots.take(page, "1_dialog_encrypt_two_volumes")
        await dialog.locator("button:has-text('Start Backup')").click()
        queued = dialog.locator("#backup-result .notice")
        await expect(queued).to_contain_text("Queued")
        snapshot_id = (await queued.locator("li a").get_attribute("href")).rsplit("/", 1)[1]

        snapshot = await api.wait_terminal(snapshot_id)
        assert snapshot["status"] == "completed", snapshot.get("error")
        assert snapshot["path"].endswith(".enc"), snapshot["path"]
        assert "encryption" in snapshot["manifest"]
        copies = {c["volume_id"]: c["status"] for c in snapshot["copies"]}
        assert copies == {primary["id"]: "stored", second["id"]: "stored"}, snapshot["copies"]
        for path in dirs:
            assert (path / snapshot["path"]).is_file(), f"no artifact in {path}"

        await page.goto(f"/ui/snapshots/{snapshot_id}")
        await expect(page.locator("#snapshot-status")).to_have_text("completed")
        await expect(page.locator("#encrypted-fact")).to_have_text("yes")
        rows = page.locator("#copies tbody tr[data-status=stored]")
        await expect(rows).to_have_count(2)
        await shots.take(page, "2_details_two_copies")


class TestLockOnTheDetails:
    async def test_lock_then_delete_refused_then_unlock_and_delete(
        self, page, api, small_source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [accepted] = await api.backup(server["id"], small_source, volume["id"])
        snapshot = await api.wait_terminal(accepted["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        await page.goto(f"/ui/snapshots/{snapshot['id']}")
        await expect(page.locator("#snapshot-locked")).to_have_count(0)

        await page.click("#snapshot-actions button:has-text('Lock')")
        await expect(page.locator("#action-result .notice")).to_contain_text("Locked")
        await expect(page.locator("#snapshot-locked")).to_have_text("locked")
        await expect(page.locator("#locked-fact")).to_have_text("yes")
        await shots.take(page, "1_locked")

        await page.click("button:has-text('Delete…')")
        dialog = page.locator("#dialog")
        await expect(dialog.locator("#delete-locked-note")).to_be_visible()
        await dialog.locator("button:has-text('Delete snapshot')").click()
        await expect(dialog.locator("#delete-result .error")).to_have_text(LOCKED_SENTENCE)
        await shots.take(page, "2_delete_refused")
        await dialog.locator("button:has-text('Keep it')").click()
        assert (await api.snapshot(snapshot["id"]))["status"] == "completed"
        assert (volume_dir / snapshot["path"]).is_file()

        await page.click("#snapshot-actions button:has-text('Unlock')")
        await expect(page.locator("#action-result .notice")).to_contain_text("Unlocked")
        await expect(page.locator("#snapshot-locked")).to_have_count(0)
        await expect(page.locator("#locked-fact")).to_have_text("no")
        await shots.take(page, "3_unlocked")
        await page.click("button:has-text('Delete…')")
        await dialog.locator("button:has-text('Delete snapshot')").click()
        await expect(dialog.locator("#delete-result .notice")).to_contain_text("Deleting")
        await wait_status(api, snapshot["id"], "deleted")


class TestConfigurationsPage:
    async def test_lists_a_configuration_toggles_it_and_run_now_makes_a_snapshot(
        self, page, api, small_source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        config = await create_config(
            api,
            server["id"],
            small_source,
            [volume["id"]],
            schedule="0 2 * * *",
            timezone="Europe/Berlin",
        )
        await open_configurations(page)
        row = page.locator(f"tr[data-config='{config['name']}']")
        await expect(row).to_have_attribute("data-enabled", "true")
        await expect(row.locator("td[data-label=Server]")).to_have_text(server["name"])
        await expect(row.locator("td[data-label=Databases]")).to_have_text(small_source)
        await expect(row.locator("td[data-label=Volumes]")).to_contain_text(volume["name"])
        schedule = row.locator("td[data-label=Schedule]")
        await expect(schedule).to_contain_text("0 2 * * *")
        await expect(schedule).to_contain_text("Europe/Berlin")
        await expect(schedule).to_contain_text("next:")
        await shots.take(page, "1_listed")

        await row.get_by_role("button", name=f"Disable {config['name']}").click()
        await expect(row).to_have_attribute("data-enabled", "false")
        response = await api.http.get(f"/api/v1/backup-configs/{config['id']}")
        assert response.json()["enabled"] is False
        assert response.json()["next_run_at"] is None
        await row.get_by_role("button", name=f"Enable {config['name']}").click()
        await expect(row).to_have_attribute("data-enabled", "true")
        response = await api.http.get(f"/api/v1/backup-configs/{config['id']}")
        assert response.json()["enabled"] is True

        await row.get_by_role("button", name=f"Run {config['name']} now").click()
        queued = page.locator(f"#run-{config['id']} .notice")
        await expect(queued).to_contain_text("Queued")
        await expect(queued).to_contain_text(small_source)
        await shots.take(page, "2_run_now_queued")
        snapshot_id = (await queued.locator("li a").get_attribute("href")).rsplit("/", 1)[1]
        snapshot = await api.wait_terminal(snapshot_id)
        assert snapshot["status"] == "completed", snapshot.get("error")
        assert snapshot["config_id"] == config["id"]
        assert snapshot["database"] == small_source
        assert (volume_dir / snapshot["path"]).is_file()
        await queued.locator("li a").click()
        await expect(page.locator("#made-by")).to_have_text(f"configuration {config['name']}")
        await api.http.delete(f"/api/v1/backup-configs/{config['id']}")

    async def test_prune_dry_run_lists_the_older_snapshot_then_apply_deletes_it(
        self, page, api, small_source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        config = await create_config(
            api, server["id"], small_source, [volume["id"]], retention={"keep_last": 1}
        )
        made = []
        for _ in range(2):  # one after the other: the second is the newer
            response = await api.http.post(f"/api/v1/backup-configs/{config['id']}/run")
            assert response.status_code == 202, response.text
            snapshot = await api.wait_terminal(response.json()["snapshots"][0]["id"])
            assert snapshot["status"] == "completed", snapshot.get("error")
            made.append(snapshot)
        older, newer = made

        await open_configurations(page)
        row = page.locator(f"tr[data-config='{config['name']}']")
        await expect(row.locator("td[data-label=Keeps]")).to_have_text("last 1")
        await row.get_by_role("button", name=f"Prune {config['name']} (dry run)").click()
        dialog = page.locator("#dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#prune-count")).to_have_text("1")
        doomed = dialog.locator("#prune-delete tbody tr")
        await expect(doomed).to_have_count(1)
        await expect(doomed).to_have_attribute("data-snapshot-id", older["id"])
        await dialog.locator("summary:has-text('Kept')").click()
        kept = dialog.locator(f"#prune-keep tr[data-snapshot-id='{newer['id']}']")
        await expect(kept).to_contain_text("newest")
        await shots.take(page, "1_prune_dry_run")
        # A dry run deletes nothing.
        assert (await api.snapshot(older["id"]))["status"] == "completed"

        page.once("dialog", lambda confirm: asyncio.ensure_future(confirm.accept()))
        await dialog.get_by_role("button", name="Apply").click()
        applied = dialog.locator("#prune-result .notice")
        await expect(applied).to_contain_text("deletion requested for 1 snapshot")
        await expect(applied.locator(f"a[href='/ui/snapshots/{older['id']}']")).to_have_count(1)
        await shots.take(page, "2_prune_applied")
        await wait_status(api, older["id"], "deleted")
        assert (await api.snapshot(newer["id"]))["status"] == "completed"
        assert not (volume_dir / older["path"]).exists()
        assert (volume_dir / newer["path"]).is_file()
        await api.http.delete(f"/api/v1/backup-configs/{config['id']}")


class TestConfigurationForm:
    async def test_add_with_a_refusal_in_words_then_edit_then_delete(
        self, page, api, small_source, tmp_path: Path, shots
    ):
        server = await api.add_postgres_server()
        dirs = [tmp_path / "nas", tmp_path / "offsite"]
        for path in dirs:
            path.mkdir()
        nas, offsite = [await api.add_local_volume(path) for path in dirs]
        name = unique("ui-form-")

        await open_configurations(page)
        await page.click("a:has-text('Add configuration')")
        await page.wait_for_url("**/ui/configs/new")
        form = page.locator("#config-form")
        await fill_new_config(form, name, server["id"], small_source, [offsite, nas])
        await form.get_by_role("button", name="Add configuration").click()
        # The API's own sentence, next to the field; nothing was stored.
        await expect(page.locator("#config-form .field-error")).to_contain_text("5 fields")
        await shots.take(page, "1_refused")
        listed = (await api.http.get("/api/v1/backup-configs")).json()
        assert name not in [c["name"] for c in listed]

        await form.locator("input[name=schedule]").fill("30 1 * * *")
        await form.get_by_role("button", name="Add configuration").click()
        await page.wait_for_url("**/ui/configs")
        row = page.locator(f"tr[data-config='{name}']")
        await expect(row.locator("td[data-label=Schedule]")).to_contain_text("30 1 * * *")
        await shots.take(page, "2_added")
        [stored] = [
            c for c in (await api.http.get("/api/v1/backup-configs")).json() if c["name"] == name
        ]
        assert stored["server_id"] == server["id"]
        assert stored["databases"]["mode"] == "list"
        assert stored["databases"]["names"] == [small_source]
        # Ticked in the listing's order: the first ticked in the page is the primary.
        assert set(stored["volume_ids"]) == {nas["id"], offsite["id"]}
        assert stored["encrypt"] is True
        assert stored["timezone"] == "Europe/Berlin"
        assert stored["retention"]["keep_last"] == 3

        await row.locator(f"a:has-text('{name}')").click()
        await page.wait_for_url(f"**/ui/configs/{stored['id']}/edit")
        await expect(form.locator("input[name=schedule]")).to_have_value("30 1 * * *")
        await form.locator("input[name=schedule]").fill("")
        await form.get_by_role("checkbox", name="Enabled").uncheck()
        await form.get_by_role("button", name="Save changes").click()
        await page.wait_for_url("**/ui/configs")
        await expect(row).to_have_attribute("data-enabled", "false")
        await expect(row.locator("td[data-label=Schedule]")).to_contain_text("manual")
        changed = (await api.http.get(f"/api/v1/backup-configs/{stored['id']}")).json()
        assert changed["schedule"] is None
        assert changed["enabled"] is False
        assert changed["databases"]["names"] == [small_source]  # untouched fields kept

        await row.locator(f"a:has-text('{name}')").click()
        page.once("dialog", lambda confirm: asyncio.ensure_future(confirm.accept()))
        await page.get_by_role("button", name="Delete configuration").click()
        await page.wait_for_url("**/ui/configs")
        await expect(page.locator(f"tr[data-config='{name}']")).to_have_count(0)
        gone = await api.http.get(f"/api/v1/backup-configs/{stored['id']}")
        assert gone.status_code == 404


class TestFirings:
    async def test_a_scheduled_firing_shows_as_last_fired_and_in_the_firings(
        self, page, api, small_source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        # One slot a day, 25 s from now (six fields: seconds first): it fires once here.
        slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=25)
        config = await create_config(
            api,
            server["id"],
            small_source,
            [volume["id"]],
            schedule=f"{slot.second} {slot.minute} {slot.hour} * * *",
        )
        await open_configurations(page)
        row = page.locator(f"tr[data-config='{config['name']}']")
        await row.get_by_role("button", name=f"Firings of {config['name']}").click()
        await expect(page.locator("#dialog")).to_contain_text("Not fired yet")
        await page.locator("#dialog button:has-text('Close')").click()

        fired = await wait_fired(api, config["id"])
        assert fired["last_error"] is None
        await page.reload()
        await expect(row.locator("td[data-label='Last fired']")).to_contain_text(
            slot.strftime("%Y-%m-%d %H:%M")
        )
        await row.get_by_role("button", name=f"Firings of {config['name']}").click()
        firings = page.locator("#dialog #firings tbody tr")
        await expect(firings).to_have_count(1)
        await expect(firings.locator("td[data-label=Slot]")).to_have_text(
            slot.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
        await expect(firings.locator("td[data-label=Snapshots]")).to_have_text("1")
        await shots.take(page, "1_firings")
        await api.http.delete(f"/api/v1/backup-configs/{config['id']}")


UNLABELLED = """
() => {
  const problems = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!el.labels.length && !el.getAttribute("aria-label")) problems.push(`no label: ${el.name}`);
  }
  for (const button of document.querySelectorAll("button")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label")) {
      problems.push(`nameless button: ${button.outerHTML.slice(0, 80)}`);
    }
  }
  for (const form of document.querySelectorAll("form")) {
    const posts = form.method === "post" || form.hasAttribute("hx-post");
    if (posts && !form.querySelector("input[name=csrf_token]")) {
      problems.push(`form without CSRF token: ${form.outerHTML.slice(0, 80)}`);
    }
  }
  return problems;
}
"""


class TestAccessible:
    async def test_every_control_is_labelled_and_every_form_carries_its_csrf_token(
        self, page, api, small_source, volume_dir
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        config = await create_config(api, server["id"], small_source, [volume["id"]])
        [accepted] = await api.backup(server["id"], small_source, volume["id"])
        await api.wait_terminal(accepted["id"])
        views = {
            "/ui/configs": None,
            "/ui/configs/new": None,
            f"/ui/configs/{config['id']}/edit": None,
            f"/ui/snapshots/{accepted['id']}": None,
            "/ui/configs?dialog=prune": f"Prune {config['name']} (dry run)",
            "/ui/configs?dialog=firings": f"Firings of {config['name']}",
            "/ui/servers?dialog=backup": None,
        }
        await page.goto("/ui/configs")  # the check itself finds an unlabelled control
        await page.evaluate(
            "document.querySelector('main').append(document.createElement('select'))"
        )
        assert await page.evaluate(UNLABELLED) == ["no label: "]
        for path, opens in views.items():
            await page.goto(path)
            await page.wait_for_load_state()
            if opens:
                await page.get_by_role("button", name=opens).click()
                await expect(page.locator("#dialog")).to_be_visible()
            if path.endswith("dialog=backup"):
                row = page.locator(f"tr[data-server='{server['name']}']")
                await row.locator("button:has-text('Backup')").click()
                await expect(page.locator("#dialog #backup-encrypt")).to_be_visible()
            assert await page.evaluate(UNLABELLED) == [], path
        await api.http.delete(f"/api/v1/backup-configs/{config['id']}")


NOBODY = "00000000-0000-0000-0000-000000000000"
ISSUE_8_FORMS = [
    f"/ui/snapshots/{NOBODY}/lock",
    f"/ui/snapshots/{NOBODY}/unlock",
    "/ui/configs",
    f"/ui/configs/{NOBODY}",
    f"/ui/configs/{NOBODY}/delete",
    f"/ui/configs/{NOBODY}/enabled",
    f"/ui/configs/{NOBODY}/run",
    f"/ui/configs/{NOBODY}/prune",
    f"/ui/configs/{NOBODY}/prune/apply",
]


class TestCsrfOnTheNewForms:
    @pytest.mark.parametrize("path", ISSUE_8_FORMS)
    def test_a_post_without_its_csrf_token_is_refused(self, stack, admin_password, path):
        client = signed_in_client(stack, admin_password)
        try:
            refused = client.post(path, data={"enabled": "false"})
        finally:
            client.close()
        assert refused.status_code == 403
        assert "CSRF" in refused.text
