"""The web UI's sign-in refuses guessers (429 with Retry-After, per address and per user),
bounds the password checks it runs at once, and logs where failures come from."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from services.api.adapters.ui_sessions import UiStore
from services.api.sign_in_settings import SignInSettings
from services.api.ui.passwords import hash_password

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("admin")]

PASSWORD = "correct horse battery"
FAILURES_ALLOWED = 3
LOCKOUT_SECONDS = 3.0
"""Long against the few milliseconds a refused attempt takes (it hashes nothing), short
enough for the test to wait it out."""


@pytest.fixture
def api_options() -> dict[str, Any]:
    return {
        "query_timeout": 3.0,
        "login": SignInSettings(
            failures_allowed=FAILURES_ALLOWED, lockout_seconds=LOCKOUT_SECONDS, window_seconds=10
        ),
    }


@pytest.fixture
async def admin(api: httpx.AsyncClient) -> str:
    app = api._transport.app
    store = UiStore(app.state.runtime.pool, app.state.settings.schema_name)
    await store.set_password("admin", hash_password(PASSWORD))
    return "admin"


@contextlib.asynccontextmanager
async def browser_at(api: httpx.AsyncClient, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client whose connections come from `address`."""
    transport = httpx.ASGITransport(app=api._transport.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def sign_in(client: httpx.AsyncClient, password: str, user: str = "admin") -> httpx.Response:
    form = (await client.get("/ui/login")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None, form
    body = {"csrf_token": csrf.group(1), "username": user, "password": password}
    return await client.post("/ui/login", data=body)


class TestWrongPasswords:
    async def test_twenty_wrong_passwords_get_429_and_the_right_one_works_after_retry_after(
        self, api
    ):
        async with browser_at(api, "203.0.113.7") as browser:
            answers = [await sign_in(browser, f"guess {n}") for n in range(20)]
            statuses = [a.status_code for a in answers]

            assert statuses[:FAILURES_ALLOWED] == [401] * FAILURES_ALLOWED
            assert statuses[FAILURES_ALLOWED:] == [429] * (20 - FAILURES_ALLOWED), statuses
            last = answers[-1]
            assert "Too many wrong attempts" in last.text
            wait = int(last.headers["retry-after"])
            assert 1 <= wait <= LOCKOUT_SECONDS + 1

            # Even the right password is refused while the refusal lasts...
            assert (await sign_in(browser, PASSWORD)).status_code == 429
            # ...and opens a session once Retry-After has passed.
            await asyncio.sleep(wait)
            signed_in = await sign_in(browser, PASSWORD)
            assert signed_in.status_code == 303, signed_in.text
            assert "dbm_session" in signed_in.headers["set-cookie"]

    async def test_the_refusal_grows_with_each_further_failure(self, api):
        async with browser_at(api, "203.0.113.8") as browser:
            for n in range(FAILURES_ALLOWED):
                assert (await sign_in(browser, f"guess {n}")).status_code == 401
            first = await sign_in(browser, "guess again")
            await asyncio.sleep(int(first.headers["retry-after"]))
            assert (await sign_in(browser, "still wrong")).status_code == 401
            second = await sign_in(browser, "and again")

        assert second.status_code == 429
        assert int(second.headers["retry-after"]) > int(first.headers["retry-after"])

    async def test_the_user_is_refused_from_every_address_once_guessed_at(self, api):
        for n in range(FAILURES_ALLOWED):
            async with browser_at(api, f"198.51.100.{n + 1}") as browser:
                assert (await sign_in(browser, f"guess {n}")).status_code == 401
        async with browser_at(api, "198.51.100.200") as fresh:
            refused = await sign_in(fresh, PASSWORD)
            other_user = await sign_in(fresh, "whatever", user="nobody")

        assert refused.status_code == 429
        assert "retry-after" in refused.headers
        assert other_user.status_code == 401  # only the user guessed at is refused

    async def test_a_right_password_clears_the_count(self, api):
        async with browser_at(api, "203.0.113.9") as browser:
            for _ in range(2):
                for n in range(FAILURES_ALLOWED - 1):
                    assert (await sign_in(browser, f"guess {n}")).status_code == 401
                assert (await sign_in(browser, PASSWORD)).status_code == 303
                browser.cookies.clear()  # signed out again, to sign in once more

    async def test_a_failure_is_logged_with_the_address_and_never_the_password(self, api):
        async with browser_at(api, "192.0.2.55") as browser:
            with capture_logs() as logs:
                await sign_in(browser, "hunter2-not-it")

        [refused] = [e for e in logs if e["event"] == "ui_sign_in_refused"]
        assert refused["address"] == "192.0.2.55"
        assert "hunter2-not-it" not in repr(logs)


class TestPasswordChecksAreBounded:
    @pytest.fixture
    def api_options(self) -> dict[str, Any]:
        return {"login": SignInSettings(concurrent_checks=1, check_wait_seconds=0)}

    async def test_sign_ins_beyond_the_free_checks_get_503_with_a_sentence(self, api):
        browsers = [browser_at(api, f"192.0.2.{n + 1}") for n in range(4)]
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(b) for b in browsers]
            answers = await asyncio.gather(*(sign_in(c, PASSWORD) for c in clients))

        statuses = sorted(a.status_code for a in answers)
        assert 303 in statuses
        assert 503 in statuses, statuses
        busy = next(a for a in answers if a.status_code == 503)
        assert "Too many sign-ins are being checked" in busy.text
        assert "retry-after" in busy.headers
