"""A stack with short notification intervals, a real SMTP server and a webhook receiver."""

import json
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E_SETTINGS, ArgvSampler
from tests.e2e.notifications.receivers import MailBox, WebhookReceiver, self_signed, start_smtp
from tests.fixtures.resources import scratch_pg_database
from tests.support.env import free_port
from tests.support.isolated_stack import isolated_stack
from tests.support.stack import Stack

NOTIFY_SETTINGS = {
    "API_NOTIFY_DISPATCH_INTERVAL": "0.3",
    "API_NOTIFY_BACKOFF_BASE": "1",
    "API_NOTIFY_BACKOFF_MAX": "4",
    "API_NOTIFY_MAX_ATTEMPTS": "50",
    "API_NOTIFY_SEND_TIMEOUT": "3",
    "API_NOTIFY_OVERDUE_INTERVAL": "1",
    "API_NOTIFY_HOOK_TIMEOUT": "20",
}
# What a hook saw, in files named after the event's snapshot. `-e` is a stat: unlike a glob
# of /proc/$$/fd, it opens no descriptor of its own to find. `.parent` is written last and
# appears whole (renamed): the tests wait for it, then read the rest.
SEEN = """
out={dir}/{prefix}$DATABASEMENT_SNAPSHOT_ID
env >> "$out.env"
fds=""
for fd in $(seq 0 64); do [ -e /proc/$$/fd/$fd ] && fds="$fds $fd"; done
echo $fds > "$out.fds"
id -u > "$out.uid"
cat /proc/$PPID/environ > "$out.partial" 2>&1
mv "$out.partial" "$out.parent"
exit ${{HOOK_EXIT:-0}}
"""


def hooks_json(folder: Path) -> str:
    """The operator's hooks of these tests (JSON, the file's other format): each writes down
    what it saw into `folder`."""

    def argv(prefix: str) -> list[str]:
        return ["/bin/sh", "-c", SEEN.format(dir=folder, prefix=prefix)]

    hooks = {
        "dump-and-fail": {
            "argv": argv("backup-"),
            "description": "Writes down what it saw, exits 7",
            "environment": {"HOOK_EXIT": "7"},
            "events": ["post_backup"],
        },
        "dump-as-nobody": {"argv": argv("nobody-"), "user": "nobody", "events": ["post_backup"]},
        "after-restore": {"argv": argv("restore-"), "timeout": 30, "events": ["post_restore"]},
    }
    return json.dumps(hooks)


@pytest.fixture(scope="package")
def hook_dir() -> Iterator[Path]:
    """Where the hooks write; open to every user, since one hook runs as nobody."""
    with tempfile.TemporaryDirectory(prefix="dbm-e2e-hooks-") as name:
        Path(name).chmod(0o777)  # a hook running as nobody writes here
        yield Path(name)


@pytest.fixture(scope="package")
async def stack(
    rabbit_url: str,
    postgres_url: str,
    argv_sampler: ArgvSampler,
    tmp_path_factory: pytest.TempPathFactory,
    hook_dir: Path,
) -> AsyncIterator[Stack]:
    """A stack of these tests' own, with deliveries retried within seconds and the RPO checked
    every second. Its own namespace and database: the shared e2e stack runs with other keys,
    and two stacks on one queue took each other's backups (failed: "sealed credentials
    cannot be opened"); it stops when these tests are done. Its hooks are in hooks_json."""
    hooks_file = tmp_path_factory.mktemp("hooks") / "hooks.json"
    hooks_file.write_text(hooks_json(hook_dir))
    async with isolated_stack(
        rabbit_url,
        postgres_url,
        tmp_path_factory.mktemp("notify-stack"),
        name="e2entf",
        settings={**E2E_SETTINGS, **NOTIFY_SETTINGS, "API_HOOKS_FILE": str(hooks_file)},
    ) as running:
        yield running


@pytest.fixture(scope="session")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, MailBox]]:
    """(port, CA PEM, mailbox) of an SMTP server that requires STARTTLS and AUTH."""
    cert_file, key_file, pem = self_signed(tmp_path_factory.mktemp("smtp"))
    port = free_port()
    controller, box = start_smtp(port, cert_file, key_file)
    yield port, pem, box
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=secrets.token_hex(16))
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
async def small_pg_database(postgres_url: str) -> AsyncIterator[str]:
    """A small PostgreSQL database of this test's own (the backups here need not be big)."""
    sql = "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)"
    async with scratch_pg_database(postgres_url, "dbm_ntf_", sql=sql) as name:
        yield name
