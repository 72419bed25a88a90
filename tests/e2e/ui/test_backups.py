"""The user's flow of the docs: Database Servers → Backup → database and volume → Start
Backup → watch the row on the Snapshots page go pending → in progress → completed, without
reloading; then open its details and restore it into a new database.

To see every state for sure: the dumper is stopped once the dialog has listed the databases,
so the accepted backup stays pending; when the dumper is back, pg_dump starts and waits for
its ACCESS SHARE lock on a table the test holds in ACCESS EXCLUSIVE mode (in progress);
releasing the lock lets it complete. The statuses the row showed are collected in the page
by a MutationObserver, and a marker on `window` proves the page never reloaded.
"""

import asyncio
import re
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import expect

from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 50_000

WATCH = """
(snapshotId) => {
  window.__noReload = true;
  window.__statuses = [];
  const record = () => {
    const row = document.querySelector(`tr[data-snapshot-id="${snapshotId}"]`);
    const status = row && row.dataset.status;
    if (status && window.__statuses[window.__statuses.length - 1] !== status) {
      window.__statuses.push(status);
    }
  };
  record();
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true,
                                                        attributes: true});
}
"""


async def _source(postgres_url: str) -> str:
    name = unique("dbm_ui_")
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_url(postgres_url, name))
    try:
        await conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)")
        await conn.execute(
            f"INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g"
        )
    finally:
        await conn.close()
    return name


@pytest.fixture
async def source(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database with a table of 50,000 rows."""
    name = await _source(postgres_url)
    yield name
    drop_pg_database_later(postgres_url, name)


class TableLock:
    """ACCESS EXCLUSIVE on `items` until released: pg_dump waits for it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None

    async def hold(self) -> "TableLock":
        self.conn = await asyncpg.connect(self.url)
        await self.conn.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        return self

    async def release(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.execute("ROLLBACK")
            await self.conn.close()


async def open_backup_dialog(page, server_name: str, database: str, volume_id: str):
    """Database Servers → the server's Backup button → database, volume and zstd chosen."""
    await page.click("nav >> text=Database Servers")
    await page.wait_for_url("**/ui/servers")
    await page.wait_for_load_state()  # htmx is ready
    row = page.locator(f"tr[data-server='{server_name}']")
    await row.locator("button:has-text('Backup')").click()
    dialog = page.locator("#dialog")
    await expect(dialog).to_be_visible()
    await dialog.locator("select[name=database]").select_option(database)
    await dialog.locator("select[name=volume_id]").select_option(volume_id)
    await dialog.locator("input[value=zstd]").check()
    return dialog


async def expect_details(page, snapshot: dict) -> None:
    """The details view shows the snapshot's status, database, checksum and manifest."""
    await expect(page.locator("#snapshot-status")).to_have_text(snapshot["status"])
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text(snapshot["database"])
    await expect(facts).to_contain_text(snapshot["sha256"])
    await page.click("summary:has-text('Manifest')")
    await expect(page.locator("pre.manifest")).to_contain_text(snapshot["sha256"])


class TestBackupFromTheDialog:
    @pytest.mark.doc_screenshots
    async def test_row_goes_pending_in_progress_completed_without_reloading(
        self, page, api, stack, postgres_url, source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        lock = await TableLock(database_url(postgres_url, source)).hold()
        dumper_down = False
        try:
            dialog = await open_backup_dialog(page, server["name"], source, volume["id"])
            await shots.take(page, "1_backup_dialog")

            # The api checked the database list when the dialog opened and remembers it, so
            # the request is accepted while no dumper runs: it stays pending.
            stack.kill("dumper", signal.SIGTERM)
            dumper_down = True
            await dialog.locator("button:has-text('Start Backup')").click()
            queued = dialog.locator("#backup-result .notice")
            await expect(queued).to_contain_text("Queued")
            await expect(queued).to_contain_text(source)
            await shots.take(page, "2_queued")
            snapshot_id = (await queued.locator("li a").get_attribute("href")).rsplit("/", 1)[1]

            await queued.locator("text=Follow them on the Snapshots page").click()
            await page.wait_for_url(f"**/ui/snapshots?server_id={server['id']}")
            await page.evaluate(WATCH, snapshot_id)
            ours = page.locator(f"tr[data-snapshot-id='{snapshot_id}']")
            await expect(ours).to_have_attribute("data-status", "pending")
            await expect(ours.locator(".badge")).to_have_text("pending")
            await shots.take(page, "3_pending")

            stack.start("dumper")
            dumper_down = False
            await expect(ours).to_have_attribute("data-status", "in_progress", timeout=30_000)
            await expect(ours.locator("[role=progressbar]")).to_be_visible()
            await expect(ours.locator(".progress-text")).to_contain_text("dumped")
            await shots.take(page, "4_in_progress")

            await lock.release()
            await expect(ours).to_have_attribute("data-status", "completed", timeout=60_000)
            await expect(ours.locator("td[data-label=Size]")).to_contain_text("KiB")
            await shots.take(page, "5_completed", doc="snapshots")
        finally:
            await lock.release()
            if dumper_down:
                stack.start("dumper")
        statuses = await page.evaluate("window.__statuses")
        assert statuses == ["pending", "in_progress", "completed"], statuses
        assert await page.evaluate("window.__noReload === true"), "the page reloaded"

        await ours.locator("a").first.click()
        await expect_details(page, await api.snapshot(snapshot_id))
        await shots.take(page, "6_details", doc="snapshot-details")


class TestProgressAgainstTheLastBackup:
    async def test_a_second_backup_shows_its_share_in_the_row_and_time_left_in_the_details(
        self, page, api, slow_pg, volume_dir
    ):
        """The source is slowed to about 6 s a dump, so the running state can be seen."""
        server = await api.add_postgres_server(port=slow_pg.port)
        volume = await api.add_local_volume(volume_dir)
        [first] = await api.backup(server["id"], slow_pg.database, volume["id"])
        assert (await api.wait_terminal(first["id"]))["status"] == "completed"
        slow_pg.slow_down()

        [second] = await api.backup(server["id"], slow_pg.database, volume["id"])
        await page.goto(f"/ui/snapshots?server_id={server['id']}")
        ours = page.locator(f"tr[data-snapshot-id='{second['id']}']")
        await expect(ours).to_have_attribute("data-status", "in_progress", timeout=30_000)
        estimate = ours.locator(".progress-text .estimate")
        await expect(estimate).to_contain_text(re.compile(r"^about \d+ % of the last backup"))
        await expect(ours.locator("[role=progressbar]")).to_have_attribute(
            "aria-valuenow", re.compile(r"^\d+(\.\d)?$")
        )

        await ours.locator("a").first.click()  # the details say the same, with the time left
        live = page.locator("#live .progress-text .estimate")
        await expect(live).to_contain_text(re.compile(r"^about \d+ % of the last backup"))
        await expect(live).to_contain_text(re.compile(r"about \d+ s left"), timeout=30_000)
        await expect(page.locator("#snapshot-status")).to_have_text("completed", timeout=60_000)


class TestRestoreFromTheDetails:
    async def test_restore_into_a_new_database_then_verify(
        self, page, api, postgres_url, source, volume_dir, shots
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [accepted] = await api.backup(server["id"], source, volume["id"])
        snapshot = await api.wait_terminal(accepted["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        target = unique("dbm_ui_restored_")

        await page.goto(f"/ui/snapshots/{snapshot['id']}")
        await page.click("button:has-text('Restore…')")
        dialog = page.locator("#dialog")
        await dialog.locator("select[name=server_id]").select_option(server["id"])
        await dialog.locator("input[name=database]").fill(target)
        await shots.take(page, "1_restore_dialog")
        await dialog.locator("button:has-text('Start Restore')").click()
        await expect(dialog.locator("#restore-result .notice")).to_contain_text("Restore queued")
        await dialog.locator("button:has-text('Close')").click()
        restore_row = page.locator("#restores tbody tr").first
        await expect(restore_row).to_contain_text(target)
        await expect(restore_row).to_have_attribute("data-status", "completed", timeout=60_000)
        await shots.take(page, "2_restored")
        try:
            conn = await asyncpg.connect(database_url(postgres_url, target))
            try:
                assert await conn.fetchval("SELECT count(*) FROM items") == ROWS
            finally:
                await conn.close()
        finally:
            drop_pg_database_later(postgres_url, target)

        await page.click("button:has-text('Verify…')")
        await dialog.locator("button:has-text('Start Verify')").click()
        await expect(dialog.locator("#restore-result .notice")).to_contain_text("Verify queued")
        await dialog.locator("button:has-text('Close')").click()
        await expect(page.locator("#verify-result .badge")).to_have_text("ok", timeout=60_000)
        await shots.take(page, "3_verified")

    async def test_restore_refusal_is_shown_in_words(self, page, api, source, volume_dir):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [accepted] = await api.backup(server["id"], source, volume["id"])
        snapshot = await api.wait_terminal(accepted["id"])
        await page.goto(f"/ui/snapshots/{snapshot['id']}")
        await page.click("button:has-text('Restore…')")
        dialog = page.locator("#dialog")
        await dialog.locator("input[name=database]").fill(source)  # exists: its own source
        await dialog.locator("button:has-text('Start Restore')").click()
        await expect(dialog.locator("#restore-result .error")).to_contain_text("already exists")

    async def test_delete_asks_for_confirmation_then_deletes(self, page, api, source, volume_dir):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [accepted] = await api.backup(server["id"], source, volume["id"])
        snapshot = await api.wait_terminal(accepted["id"])
        await page.goto(f"/ui/snapshots/{snapshot['id']}")
        await page.click("button:has-text('Delete…')")
        dialog = page.locator("#dialog")
        await expect(dialog).to_contain_text("This cannot be undone")
        await dialog.locator("button:has-text('Keep it')").click()
        assert (await api.snapshot(snapshot["id"]))["status"] == "completed"
        await page.click("button:has-text('Delete…')")
        await dialog.locator("button:has-text('Delete snapshot')").click()
        await expect(dialog.locator(".notice")).to_contain_text("Deleting")
        for _ in range(100):
            if (await api.snapshot(snapshot["id"]))["status"] == "deleted":
                break
            await asyncio.sleep(0.2)
        assert (await api.snapshot(snapshot["id"]))["status"] == "deleted"
        assert not list(volume_dir.rglob("*.sql.gz"))
