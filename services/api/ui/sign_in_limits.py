"""Sign-in limits: refusals that grow with wrong passwords, and a cap on password checks.

Each wrong password counts against the client's address and against the user name tried.
Past `failures_allowed` within the window, both are refused (429 with Retry-After) for
`lockout_seconds`, doubled with each further failure up to the window: a guesser gets a
handful of tries an hour, the admin who mistyped waits seconds. The counts live in
PostgreSQL, so every api replica refuses the same clients.

Each check is a 32 MiB scrypt: a replica runs at most `concurrent_checks` at once, and a
sign-in that finds no free slot soon is answered 503 instead of queueing without bound.
"""

import asyncio
import hashlib
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import Request

from services.api.sign_in_settings import SignInSettings

MAX_PLAIN_NAME = 128


class ChecksBusyError(Exception):
    """Every password-check slot stayed taken for the whole wait."""


def client_address(request: Request) -> str:
    """The client's address; uvicorn has taken it from X-Forwarded-For when the
    connection came from a trusted proxy (API_TRUSTED_PROXIES), and only then."""
    return request.client.host if request.client else "unknown"


def subjects(address: str, user: str | None = None) -> list[str]:
    """The keys a sign-in attempt counts against."""
    keys = [f"address:{address}"]
    if user is not None and len(user) <= MAX_PLAIN_NAME:
        keys.append(f"user:{user}")
    elif user is not None:
        # Whatever was typed: a name this long would not fit an index row.
        keys.append(f"user-sha256:{hashlib.sha256(user.encode()).hexdigest()}")
    return sorted(keys)  # the same lock order on every replica


def refusal_seconds(failures: int, settings: SignInSettings) -> float | None:
    """How long `failures` recent wrong passwords refuse the subject; None: not at all."""
    beyond = failures - settings.failures_allowed
    if beyond < 0:
        return None
    # lockout * 2**beyond; the exponent is capped long past any window, never overflowing.
    return min(math.ldexp(settings.lockout_seconds, min(beyond, 32)), settings.window_seconds)


def retry_after(seconds: float) -> str:
    """A Retry-After value that never asks to come back too early."""
    return str(max(1, math.ceil(seconds)))


class PasswordChecks:
    """At most `concurrent_checks` password hashes at once on this replica, on threads of
    their own (not the default pool the rest of the api shares)."""

    def __init__(self, settings: SignInSettings) -> None:
        self._slots = asyncio.Semaphore(settings.concurrent_checks)
        self._wait = settings.check_wait_seconds
        self._threads = ThreadPoolExecutor(
            max_workers=settings.concurrent_checks, thread_name_prefix="password-check"
        )

    async def run(self, check: Callable[[str, str], bool], password: str, stored: str) -> bool:
        """`check(password, stored)` on a check thread once a slot is free.

        The slot is given back when the hash ends, not when the request does: a client
        that hangs up mid-check does not let a further hash start beside the running one.
        """
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            raise ChecksBusyError from None
        loop = asyncio.get_running_loop()
        try:
            hashing = self._threads.submit(check, password, stored)
        except BaseException:
            self._slots.release()
            raise
        hashing.add_done_callback(lambda _done: loop.call_soon_threadsafe(self._slots.release))
        return await asyncio.wrap_future(hashing)
