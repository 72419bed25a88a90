"""Issue 8 in the browser: the Configurations page lists a configuration (schedule, time
zone, next slot, retention), disables and enables it, runs it now, shows its scheduled firings,
prunes with a dry run then Apply, and adds, edits and deletes one through its form.

Real stack, real PostgreSQL source, local volumes; the assertions read the API and the
volumes' files, not only the page.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.ui.operations import (
    create_config,
    fill_new_config,
    open_configurations,
    wait_fired,
    wait_status,
)
from tests.fixtures.resources import unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


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

    async def test_hooks_are_picked_by_name_from_the_operator_ones(
        self, page, api, small_source, volume_dir: Path
    ):
        """The form offers the hooks of API_HOOKS_FILE by name; there is no command field."""
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        body = {
            "name": unique("ui-hook-"),
            "server_id": server["id"],
            "databases": {"mode": "list", "names": [small_source]},
            "volume_ids": [volume["id"]],
        }
        created = (await api.http.post("/api/v1/backup-configs", json=body)).json()

        await page.goto(f"/ui/configs/{created['id']}/edit")
        form = page.locator("#config-form")
        hook = form.get_by_label("After each backup")
        await expect(hook.locator("option")).to_have_text(
            ["None", "ui-audit: Record the backup (300 s)"]
        )
        await expect(form.locator("input[name*=command]")).to_have_count(0)
        await hook.select_option("ui-audit")
        await form.get_by_role("button", name="Save changes").click()
        await page.wait_for_url("**/ui/configs")

        changed = (await api.http.get(f"/api/v1/backup-configs/{created['id']}")).json()
        assert changed["post_backup_hook"] == "ui-audit"
        assert changed["post_restore_hook"] is None
        await page.goto(f"/ui/configs/{created['id']}/edit")
        await expect(form.get_by_label("After each backup")).to_have_value("ui-audit")


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
