"""Signing in to the web UI; pages need a session; forms need their CSRF token."""

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.client import signed_in_client
from tests.e2e.ui.conftest import sign_in

pytestmark = [pytest.mark.e2e]

PAGES = [
    "/ui/",
    "/ui/servers",
    "/ui/servers/new",
    "/ui/volumes",
    "/ui/volumes/new",
    "/ui/snapshots",
    "/ui/snapshots/00000000-0000-0000-0000-000000000000",
    "/ui/configs",
    "/ui/configs/new",
]


class TestSignIn:
    @pytest.mark.parametrize("path", PAGES)
    def test_unauthenticated_page_redirects_to_sign_in(self, stack, path):
        response = httpx.get(stack.api_url + path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/login?next=")

    def test_root_leads_to_the_ui(self, stack):
        response = httpx.get(stack.api_url + "/", follow_redirects=True)
        assert response.url.path == "/ui/login"
        assert "Sign in" in response.text

    def test_api_and_health_stay_as_they_were(self, stack):
        assert httpx.get(stack.api_url + "/api/v1/servers").status_code == 401
        assert httpx.get(stack.api_url + "/healthz").status_code == 200

    async def test_admin_signs_in_with_the_password_and_lands_on_the_dashboard(
        self, context, admin_password, shots
    ):
        page = await context.new_page()
        await page.goto("/ui/snapshots")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/snapshots"))
        await shots.take(page, "1_sign_in")
        await page.fill("input[name=password]", "not-the-password")
        await page.click("button:has-text('Sign in')")
        await expect(page.locator(".error")).to_have_text("Wrong name or password.")
        await sign_in(page, admin_password, next_path="/ui/snapshots")
        await expect(page).to_have_url(re.compile(r"/ui/snapshots$"))
        await page.click("nav >> text=Dashboard")
        await expect(page.locator("h1")).to_have_text("Dashboard")
        await shots.take(page, "2_dashboard")
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["dbm_session"]["httpOnly"] is True
        assert cookies["dbm_session"]["sameSite"] == "Lax"

    async def test_api_token_signs_in_too(self, context, stack):
        page = await context.new_page()
        await page.goto("/ui/login")
        await page.click("text=Sign in with an API token instead")
        await page.fill("input[name=token]", stack.token)
        await page.click("button:has-text('Sign in with token')")
        await expect(page.locator("h1")).to_have_text("Dashboard")
        await expect(page.locator(".who")).to_have_text("token e2e")

    async def test_sign_out_ends_the_session(self, page):
        await page.click("button:has-text('Sign out')")
        await expect(page).to_have_url(re.compile(r"/ui/login"))
        await page.goto("/ui/servers")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/servers"))


class TestApiDocs:
    async def test_signed_in_the_vendored_swagger_ui_shows_the_api(self, page, shots):
        """Swagger UI starts from its own file under the CSP, and loads only from the api."""
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        await page.goto("/docs")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Databasement")
        await expect(page.locator(".opblock-tag").first).to_be_visible()
        await shots.take(page, "docs")

        origin = page.url.split("/docs")[0]
        assert requested, "the page loaded nothing"
        foreign = [url for url in requested if not url.startswith((origin, "data:"))]
        assert foreign == []

    async def test_a_browser_without_a_session_is_sent_to_sign_in(self, context):
        tab = await context.new_page()
        await tab.goto("/docs")
        await expect(tab).to_have_url(re.compile(r"/ui/login\?next=/docs$"))


class TestCsrf:
    def test_form_posted_without_its_csrf_token_is_refused(self, stack, admin_password):
        client = signed_in_client(stack, admin_password)
        body = {"name": "csrf-probe", "type": "postgresql", "host": "h", "username": "u"}
        try:
            refused = client.post("/ui/servers", data=body)
            forged = client.post("/ui/servers", data=body | {"csrf_token": "forged"})
            servers = client.get("/ui/servers").text
        finally:
            client.close()
        for response in (refused, forged):
            assert response.status_code == 403
            assert "CSRF" in response.text
        assert "csrf-probe" not in servers

    def test_sign_in_posted_without_its_csrf_token_is_refused(self, stack, admin_password):
        response = httpx.post(
            stack.api_url + "/ui/login", data={"username": "admin", "password": admin_password}
        )
        assert response.status_code == 403
        assert "dbm_session" not in response.headers.get("set-cookie", "")

    def test_session_cookie_is_httponly_and_samesite(self, stack, admin_password):
        client = httpx.Client(base_url=stack.api_url)
        form = client.get("/ui/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        done = client.post("/ui/login", data={"csrf_token": csrf, "password": admin_password})
        cookie = next(
            v for k, v in done.headers.multi_items() if k == "set-cookie" and "dbm_session" in v
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
        client.close()
