"""The api host's own commands: `create-token`, `create-admin` and `rotate-credentials-key`.

They talk to the api's database directly (no HTTP), so the first token can be made on the
host before any token exists. Output is only what is asked for, on stdout; logs go to stderr.
"""

import argparse
import asyncio
import sys
from pathlib import Path
from uuid import uuid4

from pydantic import SecretStr

from services.api.adapters.db import reseal_all
from services.api.adapters.tokens import TokenRepository
from services.api.app import build_settings, build_vault, migrations_folder
from services.api.settings import ApiSettings
from services.api.tokens import new_token, token_hash
from services.api.ui.admins import create_admin, generate_password, read_password
from services.api.vault import Vault, VaultError, parse_keys
from shared.database import create_pool
from shared.logging import configure_logging, get_logger
from shared.migrations import migrate

COMMANDS = ("create-token", "create-admin", "rotate-credentials-key")
log = get_logger("services.api")


def run_command(argv: list[str]) -> None:
    """Parse `argv` (after `python -m services.api`) and run the command it names."""
    parser = argparse.ArgumentParser(prog="python -m services.api")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-token", help="create an API token and print it")
    create.add_argument("--name", required=True, help="who or what will use the token")
    admin = sub.add_parser(
        "create-admin",
        help="set the web UI's admin password (asked without echo; never on the command line)",
    )
    admin.add_argument("--name", default="admin", help="the name to sign in with")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    admin.add_argument(
        "--generate",
        action="store_true",
        help="generate a strong password and print it (once: it is stored only as a hash)",
    )
    admin.add_argument(
        "--if-absent",
        action="store_true",
        help="leave an existing admin of that name as it is (and print nothing)",
    )
    rotate = sub.add_parser(
        "rotate-credentials-key", help="re-encrypt every stored secret with a new key"
    )
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        help="file holding the new Fernet key (else env API_NEW_CREDENTIALS_KEY)",
    )
    args = parser.parse_args(argv)
    try:
        settings = build_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        sys.exit(f"api: invalid settings: {exc}")
    configure_logging(settings.log_level)
    if args.command == "create-token":
        print(asyncio.run(create_token(settings, args.name)))  # noqa: T201 - the command's output
    elif args.command == "create-admin":
        _create_admin(settings, args)
    else:
        new_key = _new_key(settings, args.new_key_file)
        try:
            count = asyncio.run(rotate_credentials_key(settings, new_key))
        except VaultError as exc:
            sys.exit(f"api: {exc}; nothing was changed")
        print(  # noqa: T201 - the command's output
            f"re-encrypted {count} stored secret(s); now set API_CREDENTIALS_KEY to the new key"
        )


def _create_admin(settings: ApiSettings, args: argparse.Namespace) -> None:
    """Set the admin's password; with --generate, the one printed on stdout is the only copy."""
    if args.generate and args.password_stdin:
        sys.exit("api: give --generate or --password-stdin, not both")
    password = (
        generate_password() if args.generate else read_password(from_stdin=args.password_stdin)
    )
    created = asyncio.run(
        create_admin(
            settings,
            args.name,
            password,
            migrations_folder=migrations_folder,
            if_absent=args.if_absent,
        )
    )
    if not created:
        print(f"api: admin {args.name!r} exists; unchanged", file=sys.stderr)  # noqa: T201
    elif args.generate:
        print(password)  # noqa: T201 - the command's output, asked for
    else:
        print(f"admin {args.name!r} can now sign in to the web UI at /ui/")  # noqa: T201 - the command's output


def _new_key(settings: ApiSettings, key_file: Path | None) -> SecretStr:
    if key_file is not None:
        try:
            text = key_file.read_text().strip()
        except OSError as exc:
            sys.exit(f"api: cannot read {key_file}: {exc.strerror}")
    elif settings.new_credentials_key is not None:
        text = settings.new_credentials_key.get_secret_value()
    else:
        sys.exit("api: give the new key with --new-key-file or API_NEW_CREDENTIALS_KEY")
    try:
        [key] = parse_keys(text)
    except ValueError:
        sys.exit("api: the new key is not one valid Fernet key")
    return key


async def create_token(settings: ApiSettings, name: str) -> str:
    """Store a new token's hash and return the token."""
    pool = await create_pool(settings.database)
    try:
        await migrate(pool, schema=settings.schema_name, folder=migrations_folder)
        token = new_token()
        created = await TokenRepository(pool, settings.schema_name).add(
            uuid4(), name, token_hash(token)
        )
    finally:
        await pool.close()
    log.info("token_created", token_id=str(created.id))
    return token


async def rotate_credentials_key(settings: ApiSettings, new_key: SecretStr) -> int:
    """Re-encrypt every stored secret with `new_key`; those sealed with the current or a
    previous key are all read. All or nothing."""
    current = build_vault(settings)
    del current  # built only to validate the configured keys before touching anything
    keys = [settings.credentials_key]
    if settings.previous_credentials_keys is not None:
        keys += parse_keys(settings.previous_credentials_keys.get_secret_value())
    vault = Vault(new_key, previous=keys)
    pool = await create_pool(settings.database)
    try:
        await migrate(pool, schema=settings.schema_name, folder=migrations_folder)
        count = await reseal_all(pool, settings.schema_name, vault.rotate)
    finally:
        await pool.close()
    log.info("credentials_key_rotated", secrets=count)
    return count
