"""Restores and verifies notify their snapshot's configuration and run its post-restore hook;
Slack-compatible channels get `{"text": ...}`; the CLI manages channels."""

import json
from pathlib import Path
from typing import Any

import asyncpg

from tests.e2e.cli import Cli, assert_one_sentence
from tests.e2e.client import Api
from tests.e2e.notifications.receivers import WebhookReceiver
from tests.e2e.notifications.test_notifications import (
    add_channel,
    add_config,
    eventually,
    run_config,
)
from tests.fixtures.resources import unique
from tests.support.env import free_port
from tests.support.stack import Stack


class TestRestoreNotifications:
    async def test_restore_and_verify_ends_reach_slack_and_run_the_post_restore_hook(
        self,
        api: Api,
        postgres_url: str,
        webhook: WebhookReceiver,
        small_pg_database: str,
        volume_dir: Path,
        hook_dir: Path,
    ) -> None:
        # A Slack-compatible endpoint is a URL that takes {"text": ...}; the receiver records it.
        slack = await add_channel(api, "slack", {"url": webhook.start_url})
        assert "url" not in slack["config"]
        assert slack["config"]["url_set"] is True
        server, config = await add_config(
            api,
            small_pg_database,
            volume_dir,
            notify={"on": "all", "channel_ids": [slack["id"]]},
            post_restore_hook="after-restore",
        )
        snapshot = await run_config(api, config["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        seen = hook_dir / f"restore-{snapshot['id']}.env"
        target = unique("dbm_ntf_restored_")

        restore = await api.restore(snapshot["id"], server["id"], target)
        restored = await api.wait_restore(restore["id"])
        verify = await api.verify(snapshot["id"], server["id"])
        verified = await api.wait_restore(verify["id"])
        (volume_dir / snapshot["path"]).unlink()  # the artifact is gone: the next verify fails
        broken = await api.wait_restore((await api.verify(snapshot["id"], server["id"]))["id"])

        admin = await asyncpg.connect(postgres_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.close()
        assert restored["status"] == "completed", restored
        assert verified["status"] == "completed", verified
        assert broken["status"] == "failed", broken

        async def texts() -> list[str]:
            found = [json.loads(r.body).get("text", "") for r in webhook.received]
            wanted = [t for t in found if "Restore into" in t or "Verify of" in t]
            # Wait for each kind: a delivery retried under load can arrive twice.
            kinds = ("*Restore completed*", "*Verify passed*", "*Verify failed*")
            return wanted if all(any(t.startswith(k) for t in wanted) for k in kinds) else []

        said = await eventually(
            texts, what="the restore, verify and failed verify messages on Slack"
        )
        assert any(t.startswith("*Restore completed*") and target in t for t in said)
        assert any(t.startswith("*Verify passed*") for t in said)
        assert any(t.startswith("*Verify failed*") and broken["error"] in t for t in said)
        assert not any(r.headers.get("x-databasement-signature") for r in webhook.received)

        async def hook_ran_twice() -> list[str]:
            if not seen.exists():
                return []
            modes = [
                line
                for line in seen.read_text().splitlines()
                if line.startswith("DATABASEMENT_MODE=")
            ]
            return modes if len(modes) == 3 else []

        modes = await eventually(
            hook_ran_twice, what="the post-restore hook after the restore and the verify"
        )
        assert sorted(modes) == ["DATABASEMENT_MODE=restore", *["DATABASEMENT_MODE=verify"] * 2]
        text = seen.read_text()
        assert f"DATABASEMENT_RESTORE_ID={restore['id']}" in text
        assert f"DATABASEMENT_DATABASE={target}" in text
        assert f"DATABASEMENT_SOURCE_DATABASE={small_pg_database}" in text


class TestChannelsCli:
    async def test_add_list_test_and_delete_a_webhook(
        self, stack: Stack, webhook: WebhookReceiver
    ) -> None:
        cli = Cli(stack.api_url, stack.token)
        name = unique("cli-hook-")

        added = await cli.run(
            "channels",
            "add",
            name,
            "--type",
            "webhook",
            "--url",
            webhook.start_url,
            "--secret-stdin",
            "--json",
            stdin=webhook.secret + "\n",
        )
        assert added.returncode == 0, added.stderr
        channel: dict[str, Any] = json.loads(added.stdout)
        listed = await cli.run("channels", "list")
        tested = await cli.run("channels", "test", channel["id"])
        deleted = await cli.run("channels", "delete", channel["id"])
        listed_after = await cli.run("channels", "list")

        assert name in listed.stdout
        assert webhook.secret not in listed.stdout + added.stdout
        assert tested.returncode == 0, tested.stderr
        assert [r.json()["kind"] for r in webhook.received] == ["test"]
        assert webhook.received[0].signature_ok
        assert deleted.returncode == 0, deleted.stderr
        assert name not in listed_after.stdout

    async def test_a_test_that_does_not_get_through_exits_3_with_the_reason(
        self, stack: Stack
    ) -> None:
        cli = Cli(stack.api_url, stack.token)
        added = await cli.run(
            "channels",
            "add",
            unique("dead-"),
            "--type",
            "webhook",
            "--url",
            f"http://127.0.0.1:{free_port()}/",
            "--secret-stdin",
            "--json",
            stdin="0123456789abcdef\n",
        )
        channel = json.loads(added.stdout)

        tested = await cli.run("channels", "test", channel["id"])

        assert tested.returncode == 3
        assert_one_sentence(tested, "the test notification failed", "cannot reach 127.0.0.1")


class TestHooksCli:
    async def test_list_hooks_and_pick_one_by_name(
        self, stack: Stack, api: Api, small_pg_database: str, volume_dir: Path
    ) -> None:
        cli = Cli(stack.api_url, stack.token)
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        name = unique("cli-hooks-")

        listed = await cli.run("configs", "hooks")
        created = await cli.run(
            "configs", "create", name, "--server", server["name"], "--volume", volume["name"],
            "--database", small_pg_database, "--post-backup-hook", "dump-and-fail", "--json",
        )  # fmt: skip
        unknown = await cli.run("configs", "update", name, "--post-restore-hook", "nope")
        cleared = await cli.run("configs", "update", name, "--post-backup-hook", "none", "--json")

        assert listed.returncode == 0, listed.stderr
        assert "dump-as-nobody" in listed.stdout
        assert "Writes down what it saw" in listed.stdout
        assert "/bin/sh" not in listed.stdout
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["post_backup_hook"] == "dump-and-fail"
        assert_one_sentence(
            unknown,
            "no hook is named 'nope'; the operator defined: after-restore, dump-and-fail",
        )
        assert cleared.returncode == 0, cleared.stderr
        assert json.loads(cleared.stdout)["post_backup_hook"] is None
