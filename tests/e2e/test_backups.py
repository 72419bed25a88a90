"""Backups end to end: POST a backup, wait for completed, fetch, test and restore the artifact.

The restore uses plain `gunzip -c | psql` / `zstd -dc | mysql`, as DESIGN.md promises, and
compares every table's content and the views, routines and triggers with the source.
"""

import json
import subprocess

import asyncpg
import pytest

from tests.e2e.artifacts import (
    DECOMPRESS,
    assert_no_leftovers,
    assert_valid_archive,
    fetch_local,
    restore_postgres,
)
from tests.e2e.sources import (
    mariadb_fingerprint,
    mysql_client,
    postgres_fingerprint,
)
from tests.fixtures.resources import database_url, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class TestPostgresBackups:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_backup_to_local_volume_restores_identically(
        self, api, stack, pg_source, postgres_url, volume_dir, compression
    ):
        server = await api.add_server(
            name=unique("pg-"),
            type="postgresql",
            host="127.0.0.1",
            port=5432,
            username="postgres",
            password="not-checked-by-trust-auth",
        )
        volume = await api.add_volume(unique("local-"), "local", {"path": str(volume_dir)})
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
        restored = unique("dbm_restored_")
        admin = await asyncpg.connect(postgres_url)
        await admin.execute(f'CREATE DATABASE "{restored}"')
        try:
            restore_postgres(artifact, compression, database_url(postgres_url, restored))
            source_print = await postgres_fingerprint(database_url(postgres_url, pg_source))
            restored_print = await postgres_fingerprint(database_url(postgres_url, restored))
            assert restored_print == source_print
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
            await admin.close()
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
        server = await api.add_server(
            name=unique("maria-"),
            type=server_type,
            host=mariadb.host,
            port=mariadb.port,
            username=mariadb.user,
            password=mariadb.password,
        )
        volume = await api.add_volume(unique("local-"), "local", {"path": str(volume_dir)})
        [pending] = await api.backup(server["id"], maria_source, volume["id"], compression)

        snapshot = await api.wait_terminal(pending["id"])

        assert snapshot["status"] == "completed", snapshot.get("error")
        artifact = fetch_local(volume_dir, snapshot)
        assert_valid_archive(artifact, compression)
        restored = unique("dbm_restored_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{restored}` CHARACTER SET utf8mb4")
        try:
            plain = subprocess.run(
                [*DECOMPRESS[compression], str(artifact)], capture_output=True, check=True
            ).stdout
            mysql_client(mariadb, restored, plain)
            assert mariadb_fingerprint(mariadb, restored) == mariadb_fingerprint(
                mariadb, maria_source
            )
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{restored}`")
        assert_no_leftovers(stack, volume_dir, snapshot["id"])
