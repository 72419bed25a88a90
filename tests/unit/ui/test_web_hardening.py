"""What keeps the web UI safe without a server: no template runs inline script (the CSP
would refuse it, and an injection could not use it), refusals grow with wrong passwords,
and password checks are bounded."""

import asyncio
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.api.security_headers import DOCUMENT_POLICY, PAGE_POLICY, policy_for
from services.api.sign_in_settings import SignInSettings
from services.api.ui.auth import safe_next
from services.api.ui.sign_in_limits import (
    ChecksBusyError,
    PasswordChecks,
    refusal_seconds,
    retry_after,
    subjects,
)

TEMPLATES = sorted((Path(__file__).parents[3] / "services/api/ui/templates").glob("*.html"))
STATIC = Path(__file__).parents[3] / "services/api/ui/static"


class InlineScriptFinder(HTMLParser):
    """Collects every way a page could run script that is not a same-origin file."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith(("on", "hx-on")):
                self.found.append(f"<{tag} {name}=...>")
            if name in {"href", "src", "action"} and (value or "").strip().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "script":
            src = names.get("src") or ""
            if not src:
                self._in_script = True
            elif not src.startswith("/ui/static/"):
                self.found.append(f"<script src={src}>")
        if tag == "link" and not (names.get("href") or "").startswith("/ui/static/"):
            self.found.append(f"<link href={names.get('href')}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append("<script>inline</script>")


def inline_script(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    return finder.found


class TestTemplates:
    def test_there_are_templates_to_check(self):
        assert len(TEMPLATES) > 10
        assert "docs.html" in {t.name for t in TEMPLATES}

    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
    def test_no_template_has_inline_script_or_handlers(self, template):
        assert inline_script(template.read_text()) == []

    @pytest.mark.parametrize(
        "html",
        [
            "<script>alert(1)</script>",
            '<button onclick="go()">x</button>',
            '<a href="javascript:go()">x</a>',
            '<script src="https://cdn.example.com/swagger.js"></script>',
            '<div hx-on:click="go()"></div>',
        ],
    )
    def test_the_check_finds_each_kind(self, html):
        assert inline_script(html) != []

    def test_every_asset_the_docs_page_names_is_vendored(self):
        page = (STATIC.parent / "templates" / "docs.html").read_text()
        for name in ("swagger/swagger-ui-bundle.js", "swagger/swagger-ui.css", "docs.js"):
            assert f"/ui/static/{name}" in page
            assert (STATIC / name).is_file()
        assert (STATIC / "swagger" / "LICENSE").is_file()


class TestPolicies:
    @pytest.mark.parametrize("path", ["/ui/", "/ui/login", "/ui/static/app.js", "/docs"])
    def test_pages_get_the_page_policy(self, path):
        assert policy_for(path) == PAGE_POLICY

    @pytest.mark.parametrize("path", ["/api/v1/servers", "/openapi.json", "/healthz"])
    def test_json_gets_the_closed_policy(self, path):
        assert policy_for(path) == DOCUMENT_POLICY

    def test_the_page_policy_allows_no_inline_or_foreign_script(self):
        directives = dict(d.strip().split(" ", 1) for d in PAGE_POLICY.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"


class TestRefusals:
    SETTINGS = SignInSettings(failures_allowed=5, lockout_seconds=30, window_seconds=900)

    @pytest.mark.parametrize(
        ("failures", "seconds"),
        [(1, None), (4, None), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900), (500, 900)],
    )
    def test_the_refusal_doubles_up_to_the_window(self, failures, seconds):
        assert refusal_seconds(failures, self.SETTINGS) == seconds

    @pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (29.2, "30")])
    def test_retry_after_never_asks_to_come_back_early(self, seconds, header):
        assert retry_after(seconds) == header

    def test_an_attempt_counts_against_its_address_and_user(self):
        assert subjects("192.0.2.1", "admin") == ["address:192.0.2.1", "user:admin"]
        assert subjects("192.0.2.1") == ["address:192.0.2.1"]

    def test_a_huge_name_is_counted_by_its_hash(self):
        [_, user] = subjects("192.0.2.1", "x" * 100_000)
        assert user.startswith("user-sha256:")
        assert len(user) < 100

    def test_after_sign_in_the_docs_may_be_the_way_back(self):
        assert safe_next("/docs") == "/docs"
        assert safe_next("/docsx") == "/ui/"


class TestPasswordChecks:
    async def test_a_check_beyond_the_free_slots_waits_then_is_refused(self):
        checks = PasswordChecks(SignInSettings(concurrent_checks=1, check_wait_seconds=0.2))
        release = threading.Event()

        def slow(_password: str, _stored: str) -> bool:
            return release.wait(timeout=10)

        first = asyncio.create_task(checks.run(slow, "pw", "stored"))
        await asyncio.sleep(0.05)
        with pytest.raises(ChecksBusyError):
            await checks.run(slow, "pw", "stored")
        release.set()
        assert await first is True
        assert await checks.run(lambda _p, _s: True, "pw", "stored") is True

    async def test_a_hung_up_client_keeps_its_slot_until_the_hash_ends(self):
        checks = PasswordChecks(SignInSettings(concurrent_checks=1, check_wait_seconds=0.1))
        release = threading.Event()
        first = asyncio.create_task(checks.run(lambda _p, _s: release.wait(10), "pw", "s"))
        await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(ChecksBusyError):
            await checks.run(lambda _p, _s: True, "pw", "stored")
        release.set()
        async with asyncio.timeout(5):  # the slot comes back once the hash has ended
            while checks._slots.locked():
                await asyncio.sleep(0.01)
        assert await checks.run(lambda _p, _s: True, "pw", "stored") is True
