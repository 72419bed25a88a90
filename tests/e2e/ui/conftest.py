"""A headless Chromium (Debian's, never a downloaded one) driven by Playwright against the
e2e `stack`, and an admin made with `python -m services.api create-admin`.

Screenshots go to `test-output/ui/` at the repository root (ignored by git).
"""

import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.fixtures.dropping import drop_pg_database_later
from tests.fixtures.resources import database_url, unique
from tests.support.stack import READY_TIMEOUT, Stack

CHROMIUM = Path(os.environ.get("DBM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "ui"
ADMIN = "admin"

pytestmark = [pytest.mark.e2e]


def _playwright():  # imported lazily: without it the UI tests skip with the reason
    try:
        from playwright.async_api import async_playwright, expect
    except ImportError:
        pytest.skip("playwright is not installed: `pip install -e .[dev]`")
    # A connection test waits for the dumper; a backup for the whole pipeline.
    expect.set_options(timeout=20_000)
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test tries it first)"
        )
    return async_playwright


@pytest.fixture(scope="session")
async def browser():
    async with _playwright()() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def admin_password(stack: Stack) -> str:
    """The admin's password, set the way an operator sets it: on stdin, never in argv."""
    password = secrets.token_urlsafe(12)
    done = subprocess.run(
        [sys.executable, "-m", "services.api", "create-admin", "--password-stdin"],
        env=stack.env,
        input=f"{password}\n".encode(),
        capture_output=True,
        check=False,
        timeout=READY_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert password not in done.stdout.decode() + done.stderr.decode()
    return password


DOC_SCREENSHOTS = os.environ.get("DBM_DOC_SCREENSHOTS")
"""Where `make screenshots` wants the docs' images (docs/images); unset in a normal run."""


class Shots:
    """Saves a full-page screenshot per page visited, named by test and step.

    A step given `doc="name"` is also one of the docs' images: with DBM_DOC_SCREENSHOTS set
    (`make screenshots`) it is saved there as `name.png`, the window as a reader sees it.
    """

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_]+", "_", test_name)[:60]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(self, page, step: str, *, doc: str | None = None) -> Path:
        path = SCREENSHOTS / f"{self.prefix}__{step}.png"
        await page.screenshot(path=str(path), full_page=True)
        if doc is not None and DOC_SCREENSHOTS:
            await page.screenshot(path=str(Path(DOC_SCREENSHOTS) / f"{doc}.png"))
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
async def context(browser, stack: Stack):
    """A browser context that fails the test if the page broke its Content-Security-Policy
    (a refused script or style would silently break htmx)."""
    ctx = await browser.new_context(base_url=stack.api_url, viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(15_000)
    violations: list[str] = []

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    ctx.on("console", watch)
    yield ctx
    await ctx.close()
    assert violations == [], violations


async def sign_in(page, password: str, *, next_path: str = "/ui/") -> None:
    await page.goto(next_path)
    await page.fill("input[name=password]", password)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_url(re.compile(r".*/ui/.*"))


@pytest.fixture
async def page(context, admin_password: str) -> AsyncIterator:
    """A signed-in tab."""
    tab = await context.new_page()
    await sign_in(tab, admin_password)
    return tab


@pytest.fixture(scope="session")
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
        await admin.close()
        drop_pg_database_later(postgres_url, name)
