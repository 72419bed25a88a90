"""`python -m services.api create-admin`: the web UI's admin password, set on the api host.

The password is asked without echo, read from stdin's first line with `--password-stdin`, or
generated and printed once with `--generate`; never taken from the command line, where other
users could read it.
"""

import getpass
import secrets
import sys
from pathlib import Path

from services.api.adapters.ui_sessions import UiStore
from services.api.settings import ApiSettings
from services.api.ui.passwords import hash_password
from shared.database import create_pool
from shared.logging import get_logger
from shared.migrations import migrate

MIN_LENGTH = 8
log = get_logger(__name__)


def read_password(*, from_stdin: bool) -> str:
    """The new password: stdin's first line, or asked twice on the terminal."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New admin password: ")
        if getpass.getpass("Again: ") != password:
            sys.exit("api: the two passwords differ; nothing was changed")
    if len(password) < MIN_LENGTH:
        sys.exit(f"api: the password needs at least {MIN_LENGTH} characters; nothing was changed")
    return password


def generate_password() -> str:
    """A password for a first sign-in: 128 random bits, easy to copy (URL-safe text)."""
    return secrets.token_urlsafe(16)


async def create_admin(
    settings: ApiSettings,
    name: str,
    password: str,
    *,
    migrations_folder: Path,
    if_absent: bool = False,
) -> bool:
    """Create the admin, or replace its password (which signs out its sessions).

    With `if_absent`, an admin that exists is left as it is; False says so.
    """
    password_hash = hash_password(password)
    pool = await create_pool(settings.database)
    try:
        await migrate(pool, schema=settings.schema_name, folder=migrations_folder)
        store = UiStore(pool, settings.schema_name)
        if if_absent and await store.password_hash(name) is not None:
            return False
        await store.set_password(name, password_hash)
    finally:
        await pool.close()
    log.info("ui_admin_set", user=name)
    return True
