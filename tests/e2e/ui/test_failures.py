"""A failed backup's reason, in words, where the user looks: next to Start Backup when the api
refuses it at once (a server added with a wrong password), and in the Snapshots list and the
details view when the backup fails after it was accepted (the password changed meanwhile)."""

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.e2e.ui.test_backups import open_backup_dialog
from tests.fixtures.resources import MariaDB, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def maria_user(mariadb: MariaDB, maria_database: str) -> Iterator[tuple[str, str, str]]:
    """A MariaDB user with a real password and rights on one database: (user, password, db)."""
    user, password = unique("dbm_u"), unique("pw-")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"GRANT ALL ON `{maria_database}`.* TO '{user}'@'%'")
        cur.execute(f"CREATE TABLE `{maria_database}`.t (id INT PRIMARY KEY)")
    yield user, password, maria_database
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


async def add_maria_server_in_the_ui(page, mariadb: MariaDB, user: str, password: str) -> str:
    name = unique("ui-maria-")
    await page.goto("/ui/servers/new")
    await page.fill("input[name=name]", name)
    await page.select_option("select[name=type]", "mariadb")
    await page.fill("input[name=host]", mariadb.host)
    await page.fill("input[name=port]", str(mariadb.port))
    await page.fill("input[name=username]", user)
    await page.fill("input[name=password]", password)
    await page.click("button:has-text('Add server')")
    await expect(page.locator(".notice")).to_contain_text("Server saved")
    await page.wait_for_load_state()  # htmx is ready
    return name


class TestFailureReasons:
    async def test_wrong_password_reason_is_shown_next_to_start_backup(
        self, page, api, mariadb, maria_user, volume_dir, shots
    ):
        user, _password, _database = maria_user
        await api.add_local_volume(volume_dir)
        name = await add_maria_server_in_the_ui(page, mariadb, user, "definitely-wrong")
        await page.click("button:has-text('Test connection')")
        await expect(page.locator("#checks li[data-check=authenticated]")).to_contain_text("denied")
        await page.click("text=← All servers")
        await page.wait_for_url("**/ui/servers")
        await page.wait_for_load_state()
        await page.locator(f"tr[data-server='{name}'] button:has-text('Backup')").click()
        dialog = page.locator("#dialog")
        # The picker cannot be filled, and says why next to it.
        await expect(
            dialog.locator("label:has(select[name=database]) .field-error")
        ).to_contain_text("Access denied")
        await dialog.locator("button:has-text('Start Backup')").click()
        refusal = dialog.locator("#backup-result .error")
        await expect(refusal).to_contain_text(f"cannot list the databases of server '{name}'")
        await expect(refusal).to_contain_text("Access denied")
        assert "definitely-wrong" not in await page.content()
        await shots.take(page, "refused_next_to_start_backup")
        assert all(s["server_name"] != name for s in await api.snapshots()), "nothing queued"

    async def test_failed_snapshot_shows_its_reason_in_the_list_and_details(
        self, page, api, mariadb, maria_user, volume_dir, shots
    ):
        user, password, database = maria_user
        volume = await api.add_local_volume(volume_dir)
        name = await add_maria_server_in_the_ui(page, mariadb, user, password)
        # The dialog lists the databases with the right password (the api remembers the list);
        # then the password changes on the server before Start Backup.
        dialog = await open_backup_dialog(page, name, database, volume["id"])
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"ALTER USER '{user}'@'%' IDENTIFIED BY 'rotated-elsewhere'")
        await dialog.locator("button:has-text('Start Backup')").click()
        queued = dialog.locator("#backup-result .notice")
        await expect(queued).to_contain_text("Queued")
        await queued.locator("text=Follow them on the Snapshots page").click()

        row = page.locator("tbody#snapshot-rows tr[data-snapshot-id]").first
        await expect(row).to_have_attribute("data-status", "failed", timeout=60_000)
        await expect(row.locator(".reason")).to_contain_text("Access denied")
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        await shots.take(page, "failed_in_list_phone")
        await page.set_viewport_size({"width": 1280, "height": 860})
        await shots.take(page, "failed_in_list")

        await row.locator("a").first.click()
        reason = page.locator("#failure-reason")
        await expect(reason).to_contain_text("Why it failed")
        await expect(reason).to_contain_text("Access denied")
        assert password not in await page.content()
        await shots.take(page, "failed_details")

        await page.click("nav >> text=Dashboard")
        await expect(page.locator("#failing")).to_contain_text(name)
        await shots.take(page, "dashboard_needs_attention")
