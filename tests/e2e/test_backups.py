"""Backups end to end: POST a backup, wait for completed, fetch, test and restore the artifact.

The restore uses plain `gunzip -c | psql` / `zstd -dc | mysql`, as DESIGN.md promises, and
compares every table's content and the views, routines and triggers with the source.
"""

import json

import pytest

from tests.e2e.artifacts import (
    assert_mariadb_restores,
    assert_no_leftovers,
    assert_postgres_restores,
    assert_valid_archive,
    fetch_local,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class TestPostgresBackups:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_backup_to_local_volume_restores_identically(
        self, api, stack, pg_source, postgres_url, volume_dir, compression
    ):
        server = await api.add_postgres_server()
        volume = await api.add_local_volume(volume_dir)
        [pending] = await api.backup(server["id"], pg_source, volume["id"], compression)

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")
        assert snapshot["compression"] == compression
        assert snapshot["path"].startswith(f"{server['name']}/{pg_source}/")
        artifact = fetch_local(volume_dir, snapshot)
        assert artifact.stat().st_size == snapshot["size"]
        assert_valid_archive(artifact, compression)
        manifest = artifact.parent / artifact.name.replace(".sql.gz", ".manifest.json").replace(
            ".sql.zst", ".manifest.json"
        )
        assert manifest.is_file()
        chunks = json.loads(manifest.read_text())["chunks"]
        assert len(chunks) >= 3, "the source must span several chunks"
        assert sum(c["size"] for c in chunks) == snapshot["size"]
        await assert_postgres_restores(artifact, compression, postgres_url, pg_source)
        assert_no_leftovers(stack, volume_dir, snapshot["id"])


class TestMariaDBBackups:
    @pytest.mark.parametrize(
        ("server_type", "compression"),
        [("mariadb", "gzip"), ("mariadb", "zstd"), ("mysql", "gzip")],
        ids=["mariadb-dump-gzip", "mariadb-dump-zstd", "mysqldump-flags-on-mariadb"],
    )
    async def test_backup_to_local_volume_restores_identically(
        self, api, stack, mariadb, maria_source, volume_dir, server_type, compression
    ):
        server = await api.add_maria_server(mariadb, type_=server_type)
        volume = await api.add_local_volume(volume_dir)
        [pending] = await api.backup(server["id"], maria_source, volume["id"], compression)

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")
        artifact = fetch_local(volume_dir, snapshot)
        assert_valid_archive(artifact, compression)
        assert_mariadb_restores(artifact, compression, mariadb, maria_source)
        assert_no_leftovers(stack, volume_dir, snapshot["id"])
