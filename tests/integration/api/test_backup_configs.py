"""/api/v1/backup-configs on the real database: CRUD, validation sentences, and run now."""

import json
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asyncpg import create_pool

from services.api.app import migrations_folder
from services.api.notifications.hook_catalog import REFUSED_COMMAND
from services.api.notifications.settings import HookSettings
from shared.events import BackupRequested
from shared.migrations import migrate
from tests.fixtures.resources import database_url, scratch_pg_database
from tests.integration.api.conftest import register

pytestmark = pytest.mark.integration
HOOKS_TOML = """
[notify-ops]
argv = ["/usr/local/bin/notify-ops", "--secret-flag"]
timeout = 60
description = "Tell the ops channel"
events = ["post_backup"]

[audit]
argv = ["/bin/true"]
"""


@pytest.fixture
def api_options(tmp_path: Path) -> dict[str, Any]:
    """The api with an operator's hooks file of two hooks."""
    hooks_file = tmp_path / "hooks.toml"
    hooks_file.write_text(HOOKS_TOML)
    return {
        "query_timeout": 3.0,
        "outbox_interval": 0.2,
        "usage_timeout": 0.3,
        "hooks": HookSettings(file=hooks_file),
    }


MISSING = "00000000-0000-4000-8000-000000000000"
PATH = "/api/v1/backup-configs"


def config(server_id: str, volume_id: str, **extra):
    return {
        "name": "shop-nightly",
        "server_id": server_id,
        "volume_ids": [volume_id],
        "schedule": "0 2 * * *",
        "timezone": "Europe/Berlin",
    } | extra


async def create(api, server_id, volume_id, **extra):
    response = await api.post(PATH, json=config(server_id, volume_id, **extra))
    assert response.status_code == 201, response.text
    return response.json()


class TestCreate:
    async def test_answers_201_with_defaults_and_the_next_run(self, api):
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id)
        assert created["name"] == "shop-nightly"
        assert created["databases"] == {"mode": "all", "names": [], "pattern": None, "exclude": []}
        assert created["compression"] == "gzip"
        assert created["compression_level"] is None
        assert created["encrypt"] is False
        assert created["enabled"] is True
        assert created["notify"] == {"on": "failure", "channel_ids": []}
        assert created["retention"] == {"keep_last": None, "keep_days": None, "gfs": None}
        assert created["last_fired_at"] is None
        assert created["next_run_at"].endswith("02:00:00+01:00")

    async def test_every_field_is_kept(self, api):
        server_id, volume_id = await register(api)
        body = config(
            server_id,
            volume_id,
            databases={"mode": "pattern", "pattern": "shop_.*", "exclude": ["shop_old"]},
            compression="zstd",
            compression_level=19,
            encrypt=True,
            retention={"keep_last": 7, "keep_days": 30, "gfs": {"daily": 7, "weekly": 4}},
            rpo_hours=26,
            notify={"on": "all", "channel_ids": [MISSING]},
            post_backup_hook="notify-ops",
            post_restore_hook="audit",
            enabled=False,
        )
        created = (await api.post(PATH, json=body)).json()
        fetched = (await api.get(f"{PATH}/{created['id']}")).json()
        assert fetched == created
        assert fetched["retention"]["gfs"] == {"daily": 7, "weekly": 4, "monthly": 0}
        assert fetched["post_backup_hook"] == "notify-ops"
        assert fetched["post_restore_hook"] == "audit"
        assert fetched["rpo_hours"] == 26
        assert fetched["next_run_at"] is None  # disabled

    async def test_duplicate_name_is_409(self, api):
        server_id, volume_id = await register(api)
        await create(api, server_id, volume_id)
        response = await api.post(PATH, json=config(server_id, volume_id))
        assert response.status_code == 409
        assert response.json() == {
            "detail": "a backup configuration named 'shop-nightly' already exists"
        }

    async def test_unknown_server_is_404(self, api):
        _, volume_id = await register(api)
        response = await api.post(PATH, json=config(MISSING, volume_id))
        assert response.status_code == 404
        assert response.json() == {"detail": f"server {MISSING} does not exist"}

    async def test_unknown_volume_is_404(self, api):
        server_id, volume_id = await register(api)
        response = await api.post(
            PATH, json=config(server_id, volume_id, volume_ids=[volume_id, MISSING])
        )
        assert response.status_code == 404
        assert response.json() == {"detail": f"volume {MISSING} does not exist"}

    @pytest.mark.parametrize(
        ("change", "words"),
        [
            ({"schedule": "61 * * * *"}, "is not a valid cron expression"),
            ({"schedule": "* * *"}, "must have 5 fields"),
            ({"schedule": "0 0 31 2 *"}, "never fires"),
            ({"databases": {"mode": "pattern", "pattern": "a\x00"}}, "databases.pattern"),
            ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
            (
                {"databases": {"mode": "pattern", "pattern": "shop_("}},
                "not a valid regular expression",
            ),
            ({"databases": {"mode": "list"}}, "needs at least one name"),
            ({"databases": {"mode": "list", "names": ["postgres"]}}, "is a system database"),
            ({"compression_level": 4}, "out of range for gzip: 0-3"),
            ({"compression": "zstd", "compression_level": 20}, "out of range for zstd: 1-19"),
            ({"volume_ids": []}, "volume_ids"),
            ({"retention": {"keep_last": 0}}, "retention.keep_last"),
            ({"notify": {"on": "sometimes"}}, "notify.on"),
            ({"post_backup_command": ["/bin/sh", "-c", "id"]}, REFUSED_COMMAND),
            ({"post_restore_command": ["/bin/true"]}, REFUSED_COMMAND),
            ({"post_backup_hook": ["/bin/sh", "-c", "id"]}, REFUSED_COMMAND),
            ({"post_backup_hook": "not a name"}, "post_backup_hook"),
        ],
    )
    async def test_invalid_settings_are_422_with_a_sentence(self, api, change, words):
        server_id, volume_id = await register(api)
        response = await api.post(PATH, json=config(server_id, volume_id) | change)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith("invalid request: ")
        assert words in detail


class TestHooks:
    async def test_the_operator_hooks_are_listed_without_what_they_run(self, api):
        response = await api.get("/api/v1/hooks")
        assert response.status_code == 200
        assert response.json() == [
            {
                "name": "audit",
                "description": "",
                "timeout": 300.0,
                "events": ["post_backup", "post_restore"],
            },
            {
                "name": "notify-ops",
                "description": "Tell the ops channel",
                "timeout": 60.0,
                "events": ["post_backup"],
            },
        ]
        assert "secret-flag" not in response.text
        assert (
            "argv"
            not in (await api.get("/openapi.json")).json()["components"]["schemas"]["HookPublic"][
                "properties"
            ]
        )

    async def test_an_unknown_hook_is_422_naming_the_known_ones(self, api):
        server_id, volume_id = await register(api)
        response = await api.post(PATH, json=config(server_id, volume_id, post_backup_hook="rm-rf"))
        assert response.status_code == 422
        assert response.json() == {
            "detail": "post_backup_hook: no hook is named 'rm-rf'; the operator defined: "
            "audit, notify-ops"
        }
        wrong_event = await api.post(
            PATH, json=config(server_id, volume_id, post_restore_hook="notify-ops")
        )
        assert wrong_event.status_code == 422
        assert "defined only for post_backup" in wrong_event.json()["detail"]

    async def test_patch_picks_clears_and_refuses_a_command(self, api):
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id)
        url = f"{PATH}/{created['id']}"
        picked = await api.patch(url, json={"post_backup_hook": "audit"})
        assert picked.status_code == 200, picked.text
        assert picked.json()["post_backup_hook"] == "audit"
        command = await api.patch(url, json={"post_backup_command": ["/bin/sh", "-c", "id"]})
        assert command.status_code == 422
        assert REFUSED_COMMAND in command.json()["detail"]
        unknown = await api.patch(url, json={"post_restore_hook": "nope"})
        assert unknown.status_code == 422
        assert "no hook is named 'nope'" in unknown.json()["detail"]
        cleared = await api.patch(url, json={"post_backup_hook": None})
        assert cleared.json()["post_backup_hook"] is None

    async def test_the_migration_drops_stored_commands(self, postgres_url, tmp_path):
        """A configuration stored with a command keeps everything but the command."""
        async with scratch_pg_database(postgres_url, "dbm_hooks_") as name:
            row = await self._migrated_from_before_named_hooks(
                database_url(postgres_url, name), tmp_path
            )
        stored = json.loads(row["r"])
        assert stored["name"] == "old"
        assert stored["post_backup_hook"] is None
        assert not [key for key in stored if key.endswith("_command")]

    @staticmethod
    async def _migrated_from_before_named_hooks(url, tmp_path):
        """A database migrated up to before the named hooks, with a configuration that has a
        command, then migrated to the end; the configuration's row."""
        [named_hooks] = migrations_folder.glob("*_named_hooks.sql")
        before = tmp_path / "migrations"
        before.mkdir()
        for path in migrations_folder.glob("*.sql"):
            if path.name < named_hooks.name:
                shutil.copy(path, before)
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            await migrate(pool, schema="api", folder=before)
            await pool.execute(
                "INSERT INTO api.servers (id, name, type, host, port, username, "
                "password_sealed) VALUES (gen_random_uuid(), 's', 'postgresql', 'h', 1, 'u', "
                "'x')"
            )
            await pool.execute(
                "INSERT INTO api.backup_configs (id, name, server_id, databases, volume_ids, "
                "compression, post_backup_command) SELECT gen_random_uuid(), 'old', id, '{}', "
                "ARRAY[gen_random_uuid()], 'gzip', ARRAY['/bin/sh', '-c', 'id'] FROM api.servers"
            )
            applied = await migrate(pool, schema="api", folder=migrations_folder)
            assert int(named_hooks.name[:4]) in applied
            return await pool.fetchrow("SELECT to_jsonb(c) AS r FROM api.backup_configs c")
        finally:
            await pool.close()


class TestReadUpdateDelete:
    async def test_list_is_by_name_and_filters_by_server(self, api):
        server_id, volume_id = await register(api)
        other = await api.post(
            "/api/v1/servers",
            json={
                "name": "other",
                "type": "mysql",
                "host": "h",
                "port": 3306,
                "username": "u",
                "password": "p",
            },
        )
        await create(api, server_id, volume_id, name="b")
        await create(api, server_id, volume_id, name="a")
        await create(api, other.json()["id"], volume_id, name="c")
        assert [c["name"] for c in (await api.get(PATH)).json()] == ["a", "b", "c"]
        mine = (await api.get(PATH, params={"server_id": server_id})).json()
        assert [c["name"] for c in mine] == ["a", "b"]

    async def test_unknown_id_is_404(self, api):
        for response in (
            await api.get(f"{PATH}/{MISSING}"),
            await api.get(f"{PATH}/{MISSING}/firings"),
            await api.patch(f"{PATH}/{MISSING}", json={"enabled": False}),
            await api.delete(f"{PATH}/{MISSING}"),
            await api.post(f"{PATH}/{MISSING}/run"),
        ):
            assert response.status_code == 404
            assert response.json() == {"detail": f"backup configuration {MISSING} does not exist"}

    async def test_patch_changes_only_the_given_fields(self, api):
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id, compression_level=1)
        response = await api.patch(
            f"{PATH}/{created['id']}", json={"schedule": "*/15 * * * *", "rpo_hours": 1.5}
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["schedule"] == "*/15 * * * *"
        assert updated["rpo_hours"] == 1.5
        assert updated["compression_level"] == 1
        assert updated["name"] == created["name"]
        assert updated["updated_at"] > created["updated_at"]

    async def test_patch_is_validated_whole(self, api):
        """gzip level 3 is fine, but not once the compression becomes... gzip with 4."""
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id, compression="zstd", compression_level=9)
        response = await api.patch(f"{PATH}/{created['id']}", json={"compression": "gzip"})
        assert response.status_code == 422
        assert "out of range for gzip: 0-3" in response.json()["detail"]
        bad_tz = await api.patch(f"{PATH}/{created['id']}", json={"timezone": "Nowhere"})
        assert bad_tz.status_code == 422
        assert "is not an IANA time zone" in bad_tz.json()["detail"]
        null_name = await api.patch(f"{PATH}/{created['id']}", json={"name": None})
        assert null_name.status_code == 422
        assert (await api.get(f"{PATH}/{created['id']}")).json() == created | {
            "next_run_at": created["next_run_at"]
        }

    async def test_patch_to_a_taken_name_is_409_and_unknown_volume_404(self, api):
        server_id, volume_id = await register(api)
        await create(api, server_id, volume_id, name="taken")
        created = await create(api, server_id, volume_id)
        taken = await api.patch(f"{PATH}/{created['id']}", json={"name": "taken"})
        assert taken.status_code == 409
        assert taken.json() == {"detail": "a backup configuration named 'taken' already exists"}
        gone = await api.patch(f"{PATH}/{created['id']}", json={"volume_ids": [MISSING]})
        assert gone.status_code == 404

    async def test_delete_answers_204_then_404(self, api):
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id)
        assert (await api.delete(f"{PATH}/{created['id']}")).status_code == 204
        assert (await api.get(f"{PATH}/{created['id']}")).status_code == 404

    async def test_a_server_or_volume_in_use_is_not_deleted_under_its_configs(
        self, api, fake_catalog
    ):
        """Forgetting a server or volume would silently stop its schedule: 409 names it."""
        fake_catalog.replies["server_activity"] = {
            "ok": True,
            "in_progress": 0,
            "snapshots": 0,
            "restores": 0,
        }
        fake_catalog.replies["volume_activity"] = {"ok": True, "snapshots": 0}
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id)

        for path in (f"/api/v1/servers/{server_id}", f"/api/v1/volumes/{volume_id}"):
            refused = await api.delete(path)
            assert refused.status_code == 409, refused.text
            assert "'shop-nightly'" in refused.json()["detail"]

        assert (await api.delete(f"{PATH}/{created['id']}")).status_code == 204
        assert (await api.delete(f"/api/v1/servers/{server_id}")).status_code == 204
        assert (await api.delete(f"/api/v1/volumes/{volume_id}")).status_code == 204


class TestRunNow:
    async def test_run_requests_each_selected_database_through_the_outbox(
        self, api, backup_requests, pg_database
    ):
        server_id, volume_id = await register(api)
        second = await api.post(
            "/api/v1/volumes", json={"name": "nas2", "type": "local", "config": {"path": "/c"}}
        )
        created = await create(
            api,
            server_id,
            volume_id,
            volume_ids=[volume_id, second.json()["id"]],
            databases={"mode": "all", "exclude": ["crm"]},
            compression="zstd",
            compression_level=7,
            enabled=False,
        )
        response = await api.post(f"{PATH}/{created['id']}/run")
        assert response.status_code == 202, response.text
        [snapshot] = response.json()["snapshots"]  # shop; crm excluded; system ones never
        assert snapshot["database"] == "shop"
        assert snapshot["status"] == "pending"
        event = BackupRequested.model_validate_json((await backup_requests()).body)
        assert str(event.snapshot_id) == snapshot["id"]
        assert str(event.config_id) == created["id"]
        assert event.compression_level == 7
        assert event.destination.compression == "zstd"
        assert [str(c.volume_id) for c in event.copies] == [second.json()["id"]]
        conn = await asyncpg.connect(pg_database)
        try:
            row = await conn.fetchval(
                "SELECT config_id FROM api.snapshots_requested WHERE id = $1", event.snapshot_id
            )
        finally:
            await conn.close()
        assert str(row) == created["id"]

    async def test_a_list_is_taken_as_given(self, api, dumper):
        server_id, volume_id = await register(api)
        dumper.asked.clear()
        created = await create(
            api, server_id, volume_id, databases={"mode": "list", "names": ["b", "a"]}
        )
        response = await api.post(f"{PATH}/{created['id']}/run")
        assert response.status_code == 202
        assert [s["database"] for s in response.json()["snapshots"]] == ["a", "b"]
        assert dumper.asked == []  # a missing name is the dumper's failure to report

    async def test_a_pattern_matching_nothing_is_422(self, api):
        server_id, volume_id = await register(api)
        created = await create(
            api, server_id, volume_id, databases={"mode": "pattern", "pattern": "nothing_.*"}
        )
        response = await api.post(f"{PATH}/{created['id']}/run")
        assert response.status_code == 422
        assert response.json() == {
            "detail": "configuration 'shop-nightly' selects no database on server 'prod'"
        }

    async def test_a_server_that_cannot_be_listed_is_422_with_the_reason(self, api, dumper):
        server_id, volume_id = await register(api)
        created = await create(api, server_id, volume_id)
        dumper.replies["list_databases"] = {"ok": False, "error": "connection refused"}
        response = await api.post(f"{PATH}/{created['id']}/run")
        assert response.status_code == 422
        assert response.json() == {
            "detail": "cannot list the databases of server 'prod': connection refused"
        }
