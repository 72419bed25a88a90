"""Issue 8 in the browser: an encrypted backup to two volumes from the Backup dialog, Lock /
Unlock on the details (Delete refused with the API's sentence while locked); every new control
labelled and every new form guarded by its CSRF token. The Configurations page is in
test_configurations.py.

Real stack, real PostgreSQL source, local volumes; the assertions read the API and the
volumes' files, not only the page.
"""

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.client import signed_in_client
from tests.e2e.ui.operations import create_config, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

LOCKED_SENTENCE = "snapshot is locked: unlock it before deleting it"


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
