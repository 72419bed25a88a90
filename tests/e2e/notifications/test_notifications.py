"""Notifications, the RPO alarm and hooks on the real stack.

Backups run through backup configurations (`POST /api/v1/backup-configs/{id}/run`); the
notifications reach a real SMTP server (STARTTLS + AUTH) and an HTTP receiver that checks
each signature itself.
"""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from tests.e2e.client import Api
from tests.e2e.notifications.receivers import SMTP_PASSWORD, SMTP_USER, MailBox, WebhookReceiver
from tests.fixtures.resources import unique
from tests.support.env import free_port
from tests.support.stack import Stack

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 60, what: str) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.3)


async def add_channel(api: Api, type_: str, config: dict[str, Any]) -> dict[str, Any]:
    response = await api.http.post(
        "/api/v1/notification-channels",
        json={"name": unique(f"{type_}-"), "type": type_, "config": config},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def mail_config(smtp: tuple[int, str, MailBox]) -> dict[str, Any]:
    """An email channel's config for the test SMTP server (STARTTLS with its CA, and AUTH)."""
    port, pem, _ = smtp
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from_address": "dbm@example.com",
        "to": ["ops@example.com"],
        "tls_ca": pem,
    }


async def add_config(
    api: Api, database: str, volume_dir: Path, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(server, configuration): a new PostgreSQL server and local volume, and a configuration
    backing up `database` of that server to that volume."""
    server = await api.add_postgres_server()
    volume = await api.add_local_volume(volume_dir)
    body = {
        "name": unique("cfg-"),
        "server_id": server["id"],
        "databases": {"mode": "list", "names": [database]},
        "volume_ids": [volume["id"]],
        **extra,
    }
    response = await api.http.post("/api/v1/backup-configs", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return server, created


async def run_config(api: Api, config_id: str) -> dict[str, Any]:
    """Run a configuration now and wait for its one snapshot to end."""
    response = await api.http.post(f"/api/v1/backup-configs/{config_id}/run")
    assert response.status_code == 202, response.text
    [pending] = response.json()["snapshots"]
    return await api.wait_terminal(pending["id"])


async def deliveries(api: Api, channel_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/api/v1/notification-channels/{channel_id}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def ui_page(stack: Stack, path: str) -> str:
    """A web UI page, signed in with an API token as a person would."""
    async with httpx.AsyncClient(base_url=stack.api_url, follow_redirects=True) as browser:
        await browser.get("/ui/login")
        csrf = browser.cookies.get("dbm_login_csrf")
        page = await browser.post(
            "/ui/login/token", data={"token": stack.token, "next": path, "csrf_token": csrf}
        )
    assert page.status_code == 200, page.text
    return page.text


def element(html: str, tag: str, element_id: str) -> str:
    found = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', html, re.DOTALL)
    assert found, f"the page has no {tag}#{element_id}"
    return found.group(1)


async def dashboard_overdue_line(stack: Stack) -> str:
    """The web UI dashboard's overdue line."""
    return element(await ui_page(stack, "/ui/"), "p", "overdue")


class TestChannels:
    async def test_secrets_are_never_returned(
        self, api: Api, smtp: tuple[int, str, MailBox]
    ) -> None:
        channel = await add_channel(api, "email", mail_config(smtp))
        listed = (await api.http.get("/api/v1/notification-channels")).text
        shown = (await api.http.get(f"/api/v1/notification-channels/{channel['id']}")).text
        for text in (str(channel), listed, shown):
            assert SMTP_PASSWORD not in text
        assert channel["config"]["password_set"] is True

    async def test_test_endpoint_sends_a_mail_through_starttls_and_auth(
        self, api: Api, smtp: tuple[int, str, MailBox]
    ) -> None:
        _, _, box = smtp
        config = mail_config(smtp)
        good = await add_channel(api, "email", config)
        bad = await add_channel(api, "email", config | {"password": "wrong-password"})

        ok = (await api.http.post(f"/api/v1/notification-channels/{good['id']}/test")).json()
        refused = (await api.http.post(f"/api/v1/notification-channels/{bad['id']}/test")).json()

        assert ok == {"ok": True, "error": None}
        assert any("Test notification" in s for s in box.subjects())
        assert all(box.authenticated)
        assert refused["ok"] is False
        assert "refused the username or password" in refused["error"]
        assert "wrong-password" not in refused["error"]

    async def test_a_webhook_with_an_unknown_type_or_short_secret_is_refused(
        self, api: Api
    ) -> None:
        response = await api.http.post(
            "/api/v1/notification-channels",
            json={
                "name": unique("w-"),
                "type": "webhook",
                "config": {"url": "http://127.0.0.1:9/", "secret": "short"},
            },
        )
        assert response.status_code == 422
        assert "secret" in response.json()["detail"]

    async def test_a_patched_secret_signs_what_follows(self, api: Api) -> None:
        old = WebhookReceiver(secret="old-secret-0123456789")
        new = WebhookReceiver(secret="new-secret-0123456789")
        try:
            channel = await add_channel(api, "webhook", {"url": old.start(), "secret": old.secret})
            name = unique("renamed-")
            response = await api.http.patch(
                f"/api/v1/notification-channels/{channel['id']}",
                json={"name": name, "config": {"url": new.start(), "secret": new.secret}},
            )
            assert response.status_code == 200, response.text
            assert response.json()["name"] == name
            assert new.secret not in response.text
            tested = await api.http.post(f"/api/v1/notification-channels/{channel['id']}/test")
            assert tested.json() == {"ok": True, "error": None}
            assert old.received == []
            assert [r.signature_ok for r in new.received] == [True]
            refused = await api.http.patch(
                f"/api/v1/notification-channels/{channel['id']}",
                json={"config": {"url": "http://127.0.0.1:9/"}},
            )
            assert refused.status_code == 422
            assert "secret" in refused.json()["detail"]
        finally:
            old.stop()
            new.stop()


class TestBackupNotifications:
    async def test_completed_and_failed_backups_reach_mail_and_the_signed_webhook(
        self,
        api: Api,
        postgres_url: str,
        smtp: tuple[int, str, MailBox],
        webhook: WebhookReceiver,
        small_pg_database: str,
        volume_dir: Path,
    ) -> None:
        _, _, box = smtp
        mail = await add_channel(api, "email", mail_config(smtp))
        hook = await add_channel(
            api, "webhook", {"url": webhook.start_url, "secret": webhook.secret}
        )
        _, config = await add_config(
            api,
            small_pg_database,
            volume_dir,
            notify={"on": "all", "channel_ids": [mail["id"], hook["id"]]},
        )

        completed = await run_config(api, config["id"])
        assert completed["status"] == "completed", completed.get("error")
        # Dropped after the api's database check: the accepted backup fails in the dumper.
        admin = await asyncpg.connect(postgres_url)
        await admin.execute(f'DROP DATABASE "{small_pg_database}" WITH (FORCE)')
        await admin.close()
        failed = await run_config(api, config["id"])
        assert failed["status"] == "failed"

        async def both_posted() -> list[Any]:
            done = webhook.of_kind("backup_completed") + webhook.of_kind("backup_failed")
            return done if len(done) == 2 else []

        posted = await eventually(both_posted, what="backup_completed and backup_failed webhooks")
        assert all(p.signature_ok for p in posted)
        by_kind = {p.json()["kind"]: p.json() for p in posted}
        assert by_kind["backup_completed"]["snapshot_id"] == completed["id"]
        assert by_kind["backup_completed"]["config_id"] == config["id"]
        assert by_kind["backup_completed"]["database"] == small_pg_database
        assert by_kind["backup_failed"]["snapshot_id"] == failed["id"]
        assert by_kind["backup_failed"]["error"] == failed["error"]

        def mails_of(database: str) -> list[str]:
            return [s for s in box.subjects() if database in s]

        async def both_mailed() -> list[str]:
            found = mails_of(small_pg_database)
            return found if len(found) >= 2 else []

        subjects = await eventually(both_mailed, what="two mails about the database")
        assert any("Backup completed" in s for s in subjects)
        assert any("Backup failed" in s for s in subjects)

    async def test_a_dead_webhook_never_fails_the_backup_and_is_retried_with_backoff(
        self, api: Api, small_pg_database: str, volume_dir: Path
    ) -> None:
        dead = await add_channel(
            api,
            "webhook",
            {"url": f"http://127.0.0.1:{free_port()}/gone", "secret": "0123456789abcdef"},
        )
        _, config = await add_config(
            api,
            small_pg_database,
            volume_dir,
            notify={"on": "success", "channel_ids": [dead["id"]]},
        )

        snapshot = await run_config(api, config["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")

        first_seen: dict[int, float] = {}  # attempts -> when the count was first seen
        deadline = time.monotonic() + 60
        row: dict[str, Any] = {}
        while True:
            assert time.monotonic() < deadline, f"not four tries of the dead webhook: {row}"
            rows = await deliveries(api, dead["id"])
            if rows:
                row = rows[0]
                first_seen.setdefault(row["attempts"], time.monotonic())
            if 4 in first_seen:
                break
            await asyncio.sleep(0.1)

        assert row["kind"] == "backup_completed"
        assert row["delivered_at"] is None
        assert row["given_up_at"] is None
        assert "cannot reach 127.0.0.1" in row["last_error"]
        # Backoff 1 s, 2 s, 4 s (API_NOTIFY_BACKOFF_BASE=1): the waits grow. (The first try
        # may come before the first poll; the second cannot: it waits a second.)
        assert first_seen[4] - first_seen[3] > first_seen[3] - first_seen[2] + 1


class TestOverdue:
    async def test_a_configuration_past_its_rpo_is_overdue_in_api_and_metrics_and_notifies_once(
        self,
        api: Api,
        stack: Stack,
        webhook: WebhookReceiver,
        small_pg_database: str,
        volume_dir: Path,
    ) -> None:
        """With two api replicas checking every second: still one notification."""
        if len(stack.processes.get("api", [])) < 2:
            await asyncio.to_thread(stack.start, "api", replica=1)
        hook = await add_channel(
            api, "webhook", {"url": webhook.start_url, "secret": webhook.secret}
        )
        # 0.0005 h = 1.8 s: never backed up, it is overdue 1.8 s after its creation.
        server, config = await add_config(
            api,
            small_pg_database,
            volume_dir,
            rpo_hours=0.0005,
            notify={"on": "failure", "channel_ids": [hook["id"]]},
        )

        async def listed() -> list[dict[str, Any]]:
            response = await api.http.get("/api/v1/overdue")
            assert response.status_code == 200, response.text
            return [e for e in response.json() if e["config_id"] == config["id"]]

        [entry] = await eventually(listed, what="the configuration listed as overdue")
        assert entry["config_name"] == config["name"]
        assert entry["server"] == server["name"]
        assert entry["database"] == small_pg_database
        assert entry["last_success_at"] is None

        metric = (
            f'databasement_last_success_timestamp_seconds{{database="{small_pg_database}",'
            f'server="{server["name"]}"}}'
        )

        async def gauge() -> float | None:
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"{stack.metrics_url}/metrics")).text
            for line in text.splitlines():
                if line.startswith(metric):
                    return float(line.split()[-1]) or None
            return None

        async def gauge_never() -> bool:
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"{stack.metrics_url}/metrics")).text
            return f"{metric} 0.0" in text

        await eventually(gauge_never, what="the gauge at 0 for a database never backed up")
        assert config["name"] in await dashboard_overdue_line(stack)
        configs_page = await ui_page(stack, "/ui/configs")  # the Configurations page marks it
        row = re.search(rf'<tr [^>]*data-config-id="{config["id"]}"[^>]*>', configs_page)
        assert row, "the configuration is not on the Configurations page"
        assert 'data-overdue="true"' in row.group(0), "no overdue marker on its row"
        await asyncio.sleep(5)  # five more checks: still one notification for the episode
        overdue = [
            p for p in webhook.of_kind("backup_overdue") if p.json()["config_id"] == config["id"]
        ]
        assert len(overdue) == 1
        assert overdue[0].signature_ok
        assert overdue[0].json()["database"] == small_pg_database

        snapshot = await run_config(api, config["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        stamp = await eventually(gauge, what="the gauge at the last success")
        assert abs(stamp - time.time()) < 120


def seen_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def api_secrets(stack: Stack) -> dict[str, str]:
    """The keys in the api's own environment that no hook may learn."""
    return {k: stack.env[k] for k in ("SEAL_KEY", "API_CREDENTIALS_KEY", "DUMPER_MASTER_KEYS")}


class TestHooks:
    async def test_the_operator_hooks_are_listed_and_a_command_is_refused(
        self, api: Api, volume_dir: Path
    ) -> None:
        listed = await api.http.get("/api/v1/hooks")
        assert [h["name"] for h in listed.json()] == [
            "after-restore",
            "dump-and-fail",
            "dump-as-nobody",
        ]
        assert "/bin/sh" not in listed.text
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        body = {
            "name": unique("cfg-"),
            "server_id": server["id"],
            "volume_ids": [volume["id"]],
            "post_backup_command": ["/bin/sh", "-c", "cat /proc/1/environ"],
        }
        refused = await api.http.post("/api/v1/backup-configs", json=body)
        assert refused.status_code == 422
        assert (
            "hooks are defined by the operator in API_HOOKS_FILE; pick one by name"
            in (refused.json()["detail"])
        )

    async def test_a_failing_hook_leaves_a_warning_and_saw_only_its_event(
        self, api: Api, stack: Stack, small_pg_database: str, volume_dir: Path, hook_dir: Path
    ) -> None:
        server, config = await add_config(
            api, small_pg_database, volume_dir, post_backup_hook="dump-and-fail"
        )

        snapshot = await run_config(api, config["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")

        async def warned() -> dict[str, Any] | None:
            detail = await api.snapshot(snapshot["id"])
            return detail if detail.get("warnings") else None

        detail = await eventually(warned, what="a warning on the snapshot")
        assert detail["status"] == "completed"
        [warning] = detail["warnings"]
        assert warning["source"] == "post_backup_hook"
        assert warning["exit_code"] == 7
        assert warning["message"] == "hook dump-and-fail exited with code 7"
        page = await ui_page(stack, f"/ui/snapshots/{snapshot['id']}")
        assert "exited with code 7" in element(page, "section", "warnings")
        seen = hook_dir / f"backup-{snapshot['id']}"
        env = seen_env(seen.with_suffix(".env"))
        assert env["DATABASEMENT_SNAPSHOT_ID"] == snapshot["id"]
        assert env["DATABASEMENT_STATUS"] == "completed"
        assert env["DATABASEMENT_DATABASE"] == small_pg_database
        assert env["DATABASEMENT_SERVER"] == server["name"]
        assert env["DATABASEMENT_PATH"] == snapshot["path"]
        assert int(env["DATABASEMENT_SIZE"]) == snapshot["size"]
        assert env["DATABASEMENT_HOOK_NAME"] == "dump-and-fail"
        assert env["HOOK_EXIT"] == "7"  # the operator's own variable
        assert not [k for k in env if k.startswith(("API_", "SEAL_", "DATABASE_", "BROKER_"))]
        text = seen.with_suffix(".env").read_text()
        for name, value in api_secrets(stack).items():
            assert name not in text
            assert value not in text
        assert seen.with_suffix(".fds").read_text().split() == ["0", "1", "2"]

    async def test_a_hook_run_as_another_user_cannot_read_the_api_keys(
        self, api: Api, stack: Stack, small_pg_database: str, volume_dir: Path, hook_dir: Path
    ) -> None:
        """The operator's `user`: the api's /proc/<pid>/environ is not that user's to read."""
        _, config = await add_config(
            api, small_pg_database, volume_dir, post_backup_hook="dump-as-nobody"
        )
        snapshot = await run_config(api, config["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        seen = hook_dir / f"nobody-{snapshot['id']}"

        async def ran() -> bool:
            return seen.with_suffix(".parent").exists()

        await eventually(ran, what="the hook running as nobody")
        assert seen.with_suffix(".uid").read_text().strip() == "65534"
        parent = seen.with_suffix(".parent").read_text()
        assert "Permission denied" in parent
        everything = "".join(p.read_text() for p in hook_dir.glob(f"nobody-{snapshot['id']}.*"))
        for value in api_secrets(stack).values():
            assert value not in everything
