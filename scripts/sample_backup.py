"""The last step of `make run`: back up a sample database end to end, then say how to go on.

It waits for the four services, creates a small PostgreSQL database `databasement_sample`
(once), registers the local server and the embedded local volume under ./var/volumes/local
(once), starts a backup and waits for it. It ends with a short block: the web UI and how to
sign in, the API docs, the sample snapshot (status, size, file), the commands to restore it
and to see it in full, and how to stop. It then stays running, since honcho stops every
process when one exits; `--exit` returns instead (for tests and scripts).

SAMPLE_DATABASE, SAMPLE_VOLUME_PATH and SAMPLE_ADMIN change what it backs up, where to, and
the admin it makes; the services' *_HTTP_PORT and the api's settings (DATABASE_URL...) are
read as the services read them.
"""

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.cli.render import size

PORTS = {"api": 8000, "dumper": 8001, "uploader": 8002, "catalog": 8003}
READY_TIMEOUT = 90.0
BACKUP_TIMEOUT = 300.0
SAMPLE_DB = os.environ.get("SAMPLE_DATABASE", "databasement_sample")
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
VOLUME_PATH = Path(os.environ.get("SAMPLE_VOLUME_PATH", "var/volumes/local")).resolve()
SERVER_NAME = "local-postgres"
ADMIN = os.environ.get("SAMPLE_ADMIN", "admin")
CLI = ".venv/bin/databasement"
API_COMMAND = (sys.executable, "-m", "services.api")

SAMPLE_SQL = """
CREATE TABLE IF NOT EXISTS authors (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE IF NOT EXISTS books (
    id serial PRIMARY KEY,
    author_id int REFERENCES authors (id),
    title text NOT NULL,
    published date
);
CREATE OR REPLACE VIEW books_per_author AS
    SELECT a.name, count(b.id) AS books FROM authors a LEFT JOIN books b ON b.author_id = a.id
    GROUP BY a.name;
INSERT INTO authors (name)
    SELECT 'Author ' || g FROM generate_series(1, 200) g WHERE NOT EXISTS (SELECT 1 FROM authors);
INSERT INTO books (author_id, title, published)
    SELECT 1 + g % 200, 'Book ' || g, DATE '2000-01-01' + g
    FROM generate_series(1, 5000) g WHERE NOT EXISTS (SELECT 1 FROM books);
"""


def say(message: str) -> None:
    print(f"sample: {message}", flush=True)


def wait_ready() -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    for service, default in PORTS.items():
        port = int(os.environ.get(f"{service.upper()}_HTTP_PORT", default))
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"sample: {service} is not ready after {READY_TIMEOUT:.0f}s")
            time.sleep(0.5)


async def create_sample_database() -> None:
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", SAMPLE_DB):
            await admin.execute(f'CREATE DATABASE "{SAMPLE_DB}"')
            say(f"created the sample database {SAMPLE_DB}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=SAMPLE_DB)
    try:
        await conn.execute(SAMPLE_SQL)
    finally:
        await conn.close()


def find_or_create(api: httpx.Client, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reuse the entry named `body['name']` from an earlier `make run`, else create it."""
    listing = api.get(f"/api/v1/{resource}")
    listing.raise_for_status()
    payload = listing.json()
    items = payload if isinstance(payload, list) else payload.get("items", [])
    for item in items:
        if item["name"] == body["name"]:
            return dict(item)
    created = api.post(f"/api/v1/{resource}", json=body)
    if created.status_code != 201:
        sys.exit(f"sample: could not register {resource}: {created.text}")
    return dict(created.json())


def back_up(api: httpx.Client) -> dict[str, Any]:
    """Back the sample database up to the local volume; the snapshot once it has ended."""
    server = find_or_create(
        api,
        "servers",
        {
            "name": SERVER_NAME,
            "type": "postgresql",
            "host": PG_HOST,
            "port": PG_PORT,
            "username": PG_USER,
            "password": "trust-auth-needs-none",
        },
    )
    VOLUME_PATH.mkdir(parents=True, exist_ok=True)
    volume = find_or_create(
        api, "volumes", {"name": "local", "type": "local", "config": {"path": str(VOLUME_PATH)}}
    )
    response = api.post(
        "/api/v1/backups",
        json={"server_id": server["id"], "database": SAMPLE_DB, "volume_id": volume["id"]},
    )
    if response.status_code != 202:
        sys.exit(f"sample: the backup was refused: {response.text}")
    snapshot_id = response.json()["snapshots"][0]["id"]
    say(f"backing up {SAMPLE_DB} (snapshot {snapshot_id})")
    deadline = time.monotonic() + BACKUP_TIMEOUT
    last = ""
    while True:
        snapshot: dict[str, Any] = api.get(f"/api/v1/snapshots/{snapshot_id}").json()
        if snapshot["status"] != last:
            last = snapshot["status"]
            say(f"snapshot is {last}")
        if last in {"completed", "failed"} or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.5)


def summary(snapshot: dict[str, Any], *, url: str, token: str, password: str | None) -> list[str]:
    """The block `make run` ends with: where things are and what to type next."""
    if password is not None:
        sign_in = f"{ADMIN} / {password}  (shown once; a new one: "
        sign_in += ".venv/bin/python -m services.api create-admin)"
    else:
        sign_in = f"{ADMIN}, with the password shown by your first `make run` "
        sign_in += "(a new one: .venv/bin/python -m services.api create-admin)"
    cli_env = f"export DATABASEMENT_URL={url} DATABASEMENT_TOKEN={token}"
    lines = [
        "",
        "Databasement is running.",
        "",
        f"  Web UI     {url}/ui/",
        f"  Sign in    {sign_in}",
        f"  API docs   {url}/docs  (once signed in; or send the token below)",
        f"  CLI        {cli_env}",
        "",
    ]
    snapshot_id = snapshot["id"]
    if snapshot["status"] == "completed":
        path = VOLUME_PATH / snapshot["path"]
        lines += [
            f"  Sample     {SAMPLE_DB}: completed, {size(snapshot.get('size')) or 'unknown size'}",
            f"  File       {path}",
            f"  Restore    {CLI} restore {snapshot_id} --to {SERVER_NAME}",
            f"  Details    {CLI} snapshots show {snapshot_id} --json",
        ]
    else:
        reason = snapshot.get("error") or f"still {snapshot['status']} after {BACKUP_TIMEOUT:.0f} s"
        lines += [
            f"  Sample     {SAMPLE_DB}: {snapshot['status']}: {reason}",
            f"  Details    {CLI} snapshots show {snapshot_id} --json",
        ]
    lines += ["", "  Stop       Ctrl-C here stops every service", ""]
    return lines


def api_command(*args: str, what: str) -> str:
    """Run `python -m services.api ARGS` on this host, as an operator does; its stdout."""
    done = subprocess.run([*API_COMMAND, *args], capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        sys.exit(f"sample: could not {what}: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


def create_token() -> str:
    """A token made on the api host, as an operator makes the first one (one per run)."""
    return api_command("create-token", "--name", "make-run", what="create an API token")


def create_admin() -> str | None:
    """The web UI's admin with a generated password, the first time; None if one exists."""
    printed = api_command(
        "create-admin", "--name", ADMIN, "--generate", "--if-absent",
        what="create the web UI's admin",
    )  # fmt: skip
    return printed or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exit", action="store_true", help="return after the summary")
    args = parser.parse_args()
    wait_ready()
    port = int(os.environ.get("API_HTTP_PORT", PORTS["api"]))
    url = f"http://127.0.0.1:{port}"
    say("every service is ready")
    token = create_token()
    password = create_admin()
    asyncio.run(create_sample_database())
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as api:
        snapshot = back_up(api)
    print("\n".join(summary(snapshot, url=url, token=shlex.quote(token), password=password)))
    sys.stdout.flush()
    if not args.exit:
        threading.Event().wait()


if __name__ == "__main__":
    main()
