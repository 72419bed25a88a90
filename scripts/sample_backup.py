"""The last step of `make run`: back up a sample database end to end through the API.

It waits for the four services, creates a small PostgreSQL database `databasement_sample`
(once), registers the local server and the embedded local volume under ./var/volumes/local
(once), starts a backup, waits for it, and prints the snapshot and the stored file's path.
It then stays running, since honcho stops every process when one exits.
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PORTS = {"api": 8000, "dumper": 8001, "uploader": 8002, "catalog": 8003}
READY_TIMEOUT = 90.0
BACKUP_TIMEOUT = 300.0
SAMPLE_DB = "databasement_sample"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
VOLUME_PATH = Path("var/volumes/local").resolve()

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


def back_up(api: httpx.Client) -> None:
    server = find_or_create(
        api,
        "servers",
        {
            "name": "local-postgres",
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
    say(f"backup of {SAMPLE_DB} queued as snapshot {snapshot_id}")
    deadline = time.monotonic() + BACKUP_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        snapshot = api.get(f"/api/v1/snapshots/{snapshot_id}").json()
        if snapshot["status"] != last:
            last = snapshot["status"]
            say(f"snapshot {snapshot_id} is {last}")
        if last in {"completed", "failed"}:
            break
        time.sleep(0.5)
    print(json.dumps(snapshot, indent=2), flush=True)
    if snapshot["status"] == "completed":
        say(f"stored file: {VOLUME_PATH / snapshot['path']}")
        say(f"restore it with: gunzip -c '{VOLUME_PATH / snapshot['path']}' | psql NEW_DATABASE")
    else:
        say(f"the backup did not complete: {snapshot.get('error')}")


def create_token() -> str:
    """A token made on the api host, as an operator makes the first one."""
    done = subprocess.run(
        [sys.executable, "-m", "services.api", "create-token", "--name", "make-run"],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        sys.exit(f"sample: could not create an API token: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


def main() -> None:
    wait_ready()
    port = int(os.environ.get("API_HTTP_PORT", PORTS["api"]))
    say(f"every service is ready; the API listens on http://127.0.0.1:{port} (docs at /docs)")
    token = create_token()
    say(f"an API token for you (send it as 'Authorization: Bearer ...'): {token}")
    asyncio.run(create_sample_database())
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=headers) as api:
        back_up(api)
    say("the stack keeps running; press Ctrl-C to stop everything")
    threading.Event().wait()


if __name__ == "__main__":
    main()
