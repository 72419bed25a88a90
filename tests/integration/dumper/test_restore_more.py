"""Restores from an S3 volume (SeaweedFS), and a dumper stopped in the middle of a restore."""

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from faststream import TestApp
from pydantic import SecretStr

from services.dumper.app import build_app
from shared.events import RestoreFailed, RestoreFinished, RestoreRequested, RestoreStarted
from shared.specs import S3VolumeConfig, S3VolumeSpec
from tests.fixtures.resources import unique
from tests.integration.dumper.conftest import DumperStack, maria_spec, pg_url
from tests.integration.dumper.test_restore import (
    backup_to_volume,
    database_exists,
    fingerprint,
    restore_outcome,
    restore_request,
)
from tests.integration.dumper.test_rowcount import MARIA_ROWS as MARIA_COUNTED_ROWS
from tests.integration.dumper.test_rowcount import MARIA_SOURCE as MARIA_COUNTED

pytestmark = pytest.mark.integration

PREFIX = "team/backups"


def to_s3(stack: DumperStack, request: RestoreRequested, s3_server, bucket: str):
    """The same request, reading from `bucket` under PREFIX instead of the local volume."""
    volume = S3VolumeSpec(
        config=S3VolumeConfig(
            endpoint=s3_server.endpoint,
            bucket=bucket,
            prefix=PREFIX,
            access_key=s3_server.admin.access_key,
            secret_key=SecretStr(s3_server.admin.secret_key),
            secure=False,
        )
    )
    source = request.source.model_copy(update={"volume": stack.sealer.seal(volume)})
    return request.model_copy(update={"source": source})


def upload(s3_server, bucket: str, root: Path, keys: tuple[str, ...]) -> None:
    client = s3_server.client()
    for key in keys:
        client.fput_object(bucket, f"{PREFIX}/{key}", str(root / key))


class TestRestoreFromS3:
    async def test_an_artifact_on_s3_restores_exactly(
        self, dumper, postgres_url, shop, target, tmp_path, s3_server, s3_bucket
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "zstd")
        upload(s3_server, s3_bucket, tmp_path, keys)
        local = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        request = to_s3(dumper, local, s3_server, s3_bucket)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert await fingerprint(postgres_url, target) == await fingerprint(postgres_url, shop)

    async def test_a_flipped_byte_on_s3_names_its_chunk_and_leaves_no_target(
        self, dumper, postgres_url, shop, target, tmp_path, s3_server, s3_bucket
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        manifest = json.loads((tmp_path / keys[1]).read_text())
        artifact = tmp_path / keys[0]
        data = bytearray(artifact.read_bytes())
        last = manifest["chunks"][-1]
        data[last["offset"] + last["size"] // 2] ^= 0x80
        artifact.write_bytes(bytes(data))
        upload(s3_server, s3_bucket, tmp_path, keys)
        local = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        request = to_s3(dumper, local, s3_server, s3_bucket)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason.startswith(f"artifact corrupt at chunk {last['seq']}")
        assert not await database_exists(postgres_url, target)

    async def test_a_manifest_missing_on_s3_is_named(
        self, dumper, postgres_url, target, tmp_path, s3_server, s3_bucket
    ):
        local = restore_request(dumper, postgres_url, target, root=tmp_path)
        request = to_s3(dumper, local, s3_server, s3_bucket)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason == f"manifest missing: {request.source.manifest_key}"
        assert not await database_exists(postgres_url, target)


SLOW_SOURCE = """
CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.002); RETURN x; END $$;
CREATE TABLE items (id int PRIMARY KEY, txt text);
INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 1500) g;
CREATE INDEX items_slow ON items (slow_key(id));
"""
"""Restoring it takes a few seconds: the index calls the slow function for every row."""


class TestStopMidRestore:
    async def test_a_stopped_restore_drops_its_target_and_the_redelivery_completes(
        self, dumper_env, postgres_url, pg_source, target, tmp_path
    ):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        try:
            await conn.execute(SLOW_SOURCE)
        finally:
            await conn.close()
        async with TestApp(build_app(dumper_env.settings)):
            keys = await backup_to_volume(dumper_env, postgres_url, source, tmp_path, "gzip")
        request = restore_request(dumper_env, postgres_url, target, root=tmp_path, keys=keys)

        async with TestApp(build_app(dumper_env.settings)):
            await dumper_env.publish(request)
            async with asyncio.timeout(30):
                while not dumper_env.of(request.snapshot_id, RestoreStarted):
                    await asyncio.sleep(0.05)
        assert not dumper_env.of(request.snapshot_id, RestoreFinished)
        assert not dumper_env.of(request.snapshot_id, RestoreFailed)
        assert not await database_exists(postgres_url, target)

        async with TestApp(build_app(dumper_env.settings)):
            outcome = await restore_outcome(dumper_env, request)
        assert isinstance(outcome, RestoreFinished), outcome
        assert len(dumper_env.of(request.snapshot_id, RestoreStarted)) == 2
        conn = await asyncpg.connect(pg_url(postgres_url, target))
        try:
            assert await conn.fetchval("SELECT count(*) FROM items") == 1500
            assert await conn.fetchval("SELECT to_regclass('items_slow') IS NOT NULL")
        finally:
            await conn.close()


COUNTED_SOURCE = """
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT g, date '2024-06-01' + g FROM generate_series(1, 500) g;
CREATE SCHEMA "Sales";
CREATE TABLE "Sales"."Order ""Lines"" X" (id int, note text);
INSERT INTO "Sales"."Order ""Lines"" X" VALUES (1, E'\\\\.'), (2, E'a\\nb');
CREATE TABLE empty (id int);
"""


class TestVerifyWithCountsFromTheDump:
    async def test_counts_taken_from_the_stream_verify_ok_with_partitions_and_odd_names(
        self, dumper, postgres_url, pg_source, target, tmp_path
    ):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        try:
            await conn.execute(COUNTED_SOURCE)
        finally:
            await conn.close()
        keys = await backup_to_volume(dumper, postgres_url, source, tmp_path, "zstd")
        manifest = json.loads((tmp_path / keys[1]).read_text())
        assert manifest["table_rows"] == {
            "public.events_2024": 213,
            "public.events_2025": 287,
            'Sales.Order "Lines" X': 2,
            "public.empty": 0,
        }
        request = restore_request(
            dumper, postgres_url, target, root=tmp_path, keys=keys, mode="verify"
        )
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert outcome.table_differences == []
        assert outcome.verify_ok is True
        assert not await database_exists(postgres_url, target)

    async def test_mariadb_counts_from_the_stream_verify_ok(self, dumper, mariadb, tmp_path):
        source, scratch = unique("dbm_src_"), unique("dbm_verify_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
        try:
            with mariadb.connect(source) as conn, conn.cursor() as cur:
                for statement in MARIA_COUNTED:
                    cur.execute(statement)
            spec = maria_spec(mariadb)
            keys = await backup_to_volume(dumper, spec, source, tmp_path, "gzip")
            manifest = json.loads((tmp_path / keys[1]).read_text())
            assert manifest["table_rows"] == MARIA_COUNTED_ROWS
            request = restore_request(
                dumper, spec, scratch, root=tmp_path, keys=keys, mode="verify"
            )
            await dumper.publish(request)
            outcome = await restore_outcome(dumper, request)

            assert isinstance(outcome, RestoreFinished), outcome
            assert outcome.table_differences == []
            assert outcome.verify_ok is True
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
                cur.execute(f"DROP DATABASE IF EXISTS `{scratch}`")


class TestOverwriteAndRedelivery:
    async def test_a_corrupt_artifact_never_touches_an_existing_database_even_with_overwrite(
        self, dumper, postgres_url, shop, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        manifest = json.loads((tmp_path / keys[1]).read_text())
        artifact = tmp_path / keys[0]
        data = bytearray(artifact.read_bytes())
        last = manifest["chunks"][-1]
        data[last["offset"] + 1] ^= 0x01
        artifact.write_bytes(bytes(data))
        before = await fingerprint(postgres_url, shop)
        request = restore_request(
            dumper, postgres_url, shop, root=tmp_path, keys=keys, overwrite=True
        )
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason.startswith(f"artifact corrupt at chunk {last['seq']}")
        assert not outcome.target_dropped
        assert not dumper.of(request.snapshot_id, RestoreStarted)
        assert await fingerprint(postgres_url, shop) == before

    async def test_a_redelivered_finished_restore_is_not_run_again(
        self, dumper, postgres_url, shop, target, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "zstd")
        request = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        await dumper.publish(request)
        assert isinstance(await restore_outcome(dumper, request), RestoreFinished)
        await dumper.publish(request)
        sentinel = restore_request(dumper, postgres_url, target, root=tmp_path)
        await dumper.publish(sentinel)
        await restore_outcome(dumper, sentinel)

        assert len(dumper.of(request.snapshot_id, RestoreStarted)) == 1
        assert len(dumper.of(request.snapshot_id, RestoreFinished)) == 1
        assert not dumper.of(request.snapshot_id, RestoreFailed)
