"""Adding a PostgreSQL server and testing its connection; adding a local volume."""

import re
import stat

import pytest
from playwright.async_api import expect

from tests.fixtures.resources import unique

pytestmark = [pytest.mark.e2e]


class TestServers:
    async def test_add_postgres_server_and_test_its_connection(self, page, shots):
        name = unique("ui-pg-")
        await page.click("nav >> text=Database Servers")
        await shots.take(page, "1_servers")
        await page.click("text=Add server")
        await page.fill("input[name=name]", name)
        await page.select_option("select[name=type]", "postgresql")
        await page.fill("input[name=host]", "127.0.0.1")
        await page.fill("input[name=port]", "abc")
        await page.fill("input[name=username]", "postgres")
        await page.fill("input[name=password]", "trust-auth")
        await page.click("button:has-text('Add server')")
        # A mistake is named next to its field, and nothing else typed is lost.
        port_error = page.locator("label:has(input[name=port]) .field-error")
        await expect(port_error).to_contain_text("integer")
        await expect(page.locator("input[name=name]")).to_have_value(name)
        await shots.take(page, "2_server_form_error")
        await page.fill("input[name=port]", "5432")
        await page.fill("input[name=password]", "trust-auth")
        await page.click("button:has-text('Add server')")
        await expect(page.locator(".notice")).to_contain_text("Server saved")
        await page.wait_for_load_state()  # htmx is ready
        await page.click("button:has-text('Test connection')")
        checks = page.locator("#checks li")
        await expect(page.locator("#checks .notice")).to_have_text("All checks passed.")
        texts = [t.strip() for t in await checks.all_inner_texts()]
        assert [t.split(":")[0].lstrip("✓ ").strip() for t in texts][:2] == [
            "Reachable",
            "Authenticated",
        ]
        assert any("Server version" in t and "15" in t for t in texts), texts
        await shots.take(page, "3_server_tested")
        await page.click("text=← All servers")
        row = page.locator(f"tr[data-server='{name}']")
        await expect(row).to_contain_text("never")
        await expect(row).to_contain_text("127.0.0.1:5432")

    async def test_unreachable_server_test_says_why_in_words(self, page):
        await page.goto("/ui/servers/new")
        await page.fill("input[name=name]", unique("ui-nowhere-"))
        await page.fill("input[name=host]", "127.0.0.1")
        await page.fill("input[name=port]", "1")
        await page.fill("input[name=username]", "postgres")
        await page.fill("input[name=password]", "x")
        await page.click("button:has-text('Add server')")
        await expect(page.locator(".notice")).to_contain_text("Server saved")
        await page.wait_for_load_state()
        await page.click("button:has-text('Test connection')")
        first = page.locator("#checks li").first
        await expect(first).to_have_class(re.compile("bad"))
        await expect(page.locator("#checks .error")).to_contain_text("Some checks failed")


class TestVolumes:
    async def test_add_local_volume_and_test_it(self, page, shots, volume_dir):
        name = unique("ui-local-")
        await page.click("nav >> text=Volumes")
        await shots.take(page, "1_volumes")
        await page.click("text=Add volume")
        await page.fill("input[name=name]", name)
        await page.fill("input[name=path]", "relative/path")
        await page.click("button:has-text('Add volume')")
        path_error = page.locator("label:has(input[name=path]) .field-error")
        await expect(path_error).to_have_text("path must be absolute")
        await page.fill("input[name=path]", str(volume_dir))
        await page.click("button:has-text('Add volume')")
        await expect(page.locator("#saved")).to_contain_text("Volume saved")
        await page.wait_for_load_state()
        await page.click("button:has-text('Test')")
        await expect(page.locator("#checks .notice")).to_have_text("All checks passed.")
        await shots.take(page, "2_volume_tested")
        await page.click("text=← All volumes")
        row = page.locator(f"tr[data-volume='{name}']")
        await expect(row).to_contain_text(str(volume_dir))
        await expect(row).to_contain_text("local directory")
        await expect(row.locator("td[data-label=Free]")).to_contain_text("B")
        await shots.take(page, "3_volumes_list")

    async def test_a_new_directory_is_made_by_the_test_the_form_runs_and_takes_backups(
        self, page, api, volume_dir, small_source
    ):
        """The form tests a volume once it is added: the uploader makes the directory."""
        new_dir = volume_dir / "new-dir"
        await page.goto("/ui/volumes/new")
        await page.fill("input[name=name]", unique("ui-new-dir-"))
        await page.fill("input[name=path]", str(new_dir))
        await page.click("button:has-text('Add volume')")
        await expect(page.locator("#saved")).to_contain_text("Volume saved")

        directory = page.locator("#checks li[data-check=directory]")
        await expect(directory).to_contain_text(f"created {new_dir} (mode 750")
        await expect(page.locator("#checks .notice")).to_have_text("All checks passed.")
        assert stat.S_IMODE(new_dir.stat().st_mode) == 0o750

        volume_id = page.url.split("/ui/volumes/", 1)[1].split("/", 1)[0]
        server = await api.add_postgres_server()
        [accepted] = await api.backup(server["id"], small_source, volume_id)
        snapshot = await api.wait_terminal(accepted["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        assert (new_dir / snapshot["path"]).is_file()

    async def test_a_missing_parent_is_named_by_the_test_the_form_runs(self, page, volume_dir):
        path = volume_dir / "unmounted" / "backups"
        await page.goto("/ui/volumes/new")
        await page.fill("input[name=name]", unique("ui-no-parent-"))
        await page.fill("input[name=path]", str(path))
        await page.click("button:has-text('Add volume')")

        directory = page.locator("#checks li[data-check=directory]")
        await expect(directory).to_have_class(re.compile("bad"))
        await expect(directory).to_contain_text(f"nor its parent {path.parent}")
        await expect(page.locator("#checks .error")).to_contain_text("Some checks failed")
        assert not path.parent.exists()
