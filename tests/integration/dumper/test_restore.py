"""The dumper's restores on the real broker: a real dump's artifact on a local volume, read
back chunk by chunk into a new PostgreSQL database, and the failures that leave no target."""

import asyncio
import hashlib
import json
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from shared.anchors import anchor_of
from shared.events import (
    ArtifactAnchor,
    DumpFailed,
    DumpFinished,
    DumpStarted,
    RestoreFailed,
    RestoreFinished,
    RestoreRequested,
    RestoreSource,
    RestoreStarted,
    TableDifference,
    utc_now,
)
from shared.specs import ConnectionSpec, LocalVolumeConfig, LocalVolumeSpec
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import DumperStack, maria_spec, pg_spec, pg_url

pytestmark = pytest.mark.integration

ARTIFACT = "itest/shop.sql"
PIECES = 4
FINGERPRINT = (
    "SELECT count(*), md5(string_agg(concat_ws('|', id, txt, encode(bin, 'hex'), m, twice),"
    " ',' ORDER BY id)) FROM items"
)


async def backup_to_volume(
    stack: DumperStack,
    spec: ConnectionSpec | str,
    source: str,
    root: Path,
    compression: str,
    table_rows: dict[str, int] | None = None,
) -> tuple[str, str]:
    """Dump `source` with the real dumper and lay its artifact and manifest on `root`;
    `spec` is a connection, or a PostgreSQL server URL."""
    spec = pg_spec(spec) if isinstance(spec, str) else spec
    request = stack.request(spec, source, compression=compression)
    await stack.publish(request)
    finished = await stack.outcome(request.snapshot_id)
    assert isinstance(finished, DumpFinished), finished
    artifact = stack.artifact(finished)
    assert len(artifact) == finished.size
    # Re-cut into several chunks whose ends fall inside compressed members and frames.
    step = len(artifact) // PIECES + 1
    chunks = [
        {
            "seq": seq,
            "offset": offset,
            "size": len(artifact[offset : offset + step]),
            "sha256": hashlib.sha256(artifact[offset : offset + step]).hexdigest(),
        }
        for seq, offset in enumerate(range(0, len(artifact), step))
    ]
    key = f"{ARTIFACT}.{'gz' if compression == 'gzip' else 'zst'}"
    manifest = {
        "compression": compression,
        "size": finished.size,
        "sha256": finished.sha256,
        "tool": finished.tool,
        "tool_version": finished.tool_version,
        "table_rows": dict(finished.table_rows) if table_rows is None else table_rows,
        "chunks": chunks,
    }
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(artifact)
    (root / f"{key}.manifest.json").write_text(json.dumps(manifest))
    return key, f"{key}.manifest.json"


async def existing_target(postgres_url: str, name: str) -> None:
    """Database `name` made beforehand, holding a table `old_stuff` no snapshot has."""
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(pg_url(postgres_url, name))
    await conn.execute("CREATE TABLE old_stuff (x int)")
    await conn.close()


def restore_request(
    stack: DumperStack,
    spec: ConnectionSpec | str,
    database: str,
    *,
    root: Path,
    keys: tuple[str, str] = ("itest/none.sql.gz", "itest/none.sql.gz.manifest.json"),
    overwrite: bool = False,
    mode: str = "restore",
) -> RestoreRequested:
    spec = pg_spec(spec) if isinstance(spec, str) else spec
    volume = LocalVolumeSpec(config=LocalVolumeConfig(path=str(root)))
    return RestoreRequested(
        snapshot_id=uuid4(),
        restore_id=uuid4(),
        mode=mode,  # type: ignore[arg-type]
        server_id=uuid4(),
        server_type=spec.type,
        connection=stack.sealer.seal(spec),
        database=database,
        overwrite=overwrite,
        source=RestoreSource(
            volume_id=uuid4(),
            volume=stack.sealer.seal(volume),
            artifact_key=keys[0],
            manifest_key=keys[1],
            compression="gzip" if keys[0].endswith(".gz") else "zstd",
            anchor=catalog_record(root / keys[1]),
        ),
        requested_at=utc_now(),
    )


def catalog_record(manifest_path: Path) -> ArtifactAnchor:
    """What the catalog would have recorded: the manifest on the volume as it is now (a test
    that forges it afterwards proves the restore believes this, not the volume)."""
    if not manifest_path.exists():
        return ArtifactAnchor(sha256="0" * 64, size=0, manifest_digest="0" * 64, encrypted=False)
    manifest = json.loads(manifest_path.read_text())
    return anchor_of(manifest, sha256=manifest["sha256"], size=manifest["size"])


async def restore_outcome(stack: DumperStack, request: RestoreRequested, timeout: float = 60):
    async with asyncio.timeout(timeout):
        while True:
            done = stack.of(request.snapshot_id, RestoreFinished) + stack.of(
                request.snapshot_id, RestoreFailed
            )
            if done:
                return done[0]
            await asyncio.sleep(0.05)


async def database_exists(postgres_url: str, name: str) -> bool:
    admin = await asyncpg.connect(postgres_url)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def fingerprint(postgres_url: str, name: str) -> tuple[object, ...]:
    conn = await asyncpg.connect(pg_url(postgres_url, name))
    try:
        return tuple(await conn.fetchrow(FINGERPRINT))
    finally:
        await conn.close()


class TestRestoreIntoNewDatabase:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    async def test_a_dumped_artifact_restores_into_a_new_database_exactly(
        self, dumper, postgres_url, shop, target, tmp_path, compression
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, compression)
        request = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert outcome.restore_id == request.restore_id
        started = dumper.of(request.snapshot_id, RestoreStarted)
        assert started
        assert started[0].created_database
        assert started[0].tool == "psql"
        assert await fingerprint(postgres_url, target) == await fingerprint(postgres_url, shop)
        assert not dumper.of(request.snapshot_id, DumpStarted)
        assert not dumper.of(request.snapshot_id, DumpFailed)


MARIA_SOURCE = [
    (
        "CREATE TABLE items (id INT PRIMARY KEY, txt TEXT, bin LONGBLOB,"
        " m ENUM('sad','ok','happy'), twice INT AS (id * 2) STORED)"
    ),
    (
        "INSERT INTO items (id, txt, bin, m) SELECT seq, IF(seq % 10 = 0, NULL,"
        " CONCAT(MD5(seq), 'żółw ✓')), UNHEX(MD5(seq)), ELT(seq % 3 + 1, 'sad', 'ok', 'happy')"
        " FROM seq_1_to_20000"
    ),
    "CREATE VIEW happy AS SELECT id FROM items WHERE m = 'happy'",
]
MARIA_FINGERPRINT = (
    "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS('|', id, txt, HEX(bin), m, twice)"
    " ORDER BY id SEPARATOR ',')) FROM items"
)


class TestMariaRestore:
    async def test_a_mariadb_artifact_restores_exactly_and_verifies(
        self, dumper, mariadb: MariaDB, tmp_path
    ):
        source, target = unique("dbm_src_"), unique("dbm_restore_")
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{source}`")
        try:
            with mariadb.connect(source) as conn, conn.cursor() as cur:
                cur.execute("SET SESSION group_concat_max_len = 100000000")
                for statement in MARIA_SOURCE:
                    cur.execute(statement)
                conn.commit()
                cur.execute(MARIA_FINGERPRINT)
                expected = cur.fetchone()
            spec = maria_spec(mariadb)
            keys = await backup_to_volume(
                dumper, spec, source, tmp_path, "zstd", table_rows={"items": 20000}
            )
            request = restore_request(dumper, spec, target, root=tmp_path, keys=keys)
            await dumper.publish(request)
            outcome = await restore_outcome(dumper, request)

            assert isinstance(outcome, RestoreFinished), outcome
            with mariadb.connect(target) as conn, conn.cursor() as cur:
                cur.execute("SET SESSION group_concat_max_len = 100000000")
                cur.execute(MARIA_FINGERPRINT)
                assert cur.fetchone() == expected
            scratch = unique("dbm_verify_")
            verify = restore_request(dumper, spec, scratch, root=tmp_path, keys=keys, mode="verify")
            await dumper.publish(verify)
            verified = await restore_outcome(dumper, verify)
            assert isinstance(verified, RestoreFinished), verified
            assert verified.verify_ok is True
            assert verified.table_differences == []
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute("SHOW DATABASES LIKE %s", (scratch,))
                assert cur.fetchall() == ()
        finally:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
                cur.execute(f"DROP DATABASE IF EXISTS `{target}`")


class TestRestoreRefusals:
    async def test_a_flipped_byte_fails_naming_the_chunk_and_drops_the_target(
        self, dumper, postgres_url, shop, target, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        manifest = json.loads((tmp_path / keys[1]).read_text())
        artifact = tmp_path / keys[0]
        data = bytearray(artifact.read_bytes())
        data[manifest["chunks"][1]["offset"] + 100] ^= 0x01
        artifact.write_bytes(bytes(data))
        request = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason.startswith("artifact corrupt at chunk 1"), outcome.reason
        assert outcome.target_dropped
        assert not await database_exists(postgres_url, target)

    async def test_a_truncated_artifact_fails_and_drops_the_target(
        self, dumper, postgres_url, shop, target, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "zstd")
        artifact = tmp_path / keys[0]
        artifact.write_bytes(artifact.read_bytes()[:-10])
        request = restore_request(dumper, postgres_url, target, root=tmp_path, keys=keys)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason.startswith("artifact truncated at chunk"), outcome.reason
        assert not await database_exists(postgres_url, target)

    async def test_a_missing_manifest_is_named_and_no_target_is_made(
        self, dumper, postgres_url, target, tmp_path
    ):
        request = restore_request(dumper, postgres_url, target, root=tmp_path)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)
        await asyncio.sleep(0.3)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason == "manifest missing: itest/none.sql.gz.manifest.json"
        assert not outcome.target_dropped
        assert not await database_exists(postgres_url, target)
        outcomes = dumper.of(request.snapshot_id, RestoreFinished) + dumper.of(
            request.snapshot_id, RestoreFailed
        )
        assert len(outcomes) == 1

    async def test_an_existing_database_without_overwrite_is_left_alone(
        self, dumper, postgres_url, shop, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        before = await fingerprint(postgres_url, shop)
        request = restore_request(dumper, postgres_url, shop, root=tmp_path, keys=keys)
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFailed), outcome
        assert outcome.reason == f"database {shop} already exists"
        assert await fingerprint(postgres_url, shop) == before

    async def test_overwrite_replaces_the_content_of_an_existing_database(
        self, dumper, postgres_url, shop, target, tmp_path
    ):
        keys = await backup_to_volume(dumper, postgres_url, shop, tmp_path, "gzip")
        await existing_target(postgres_url, target)
        request = restore_request(
            dumper, postgres_url, target, root=tmp_path, keys=keys, overwrite=True
        )
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert await fingerprint(postgres_url, target) == await fingerprint(postgres_url, shop)
        conn = await asyncpg.connect(pg_url(postgres_url, target))
        try:
            assert await conn.fetchval("SELECT to_regclass('old_stuff')") is None
        finally:
            await conn.close()


class TestVerify:
    @pytest.mark.parametrize(("rows", "ok"), [(60000, True), (59999, False)])
    async def test_verify_compares_row_counts_and_drops_the_scratch_database(
        self, dumper, postgres_url, shop, target, tmp_path, rows, ok
    ):
        keys = await backup_to_volume(
            dumper, postgres_url, shop, tmp_path, "gzip", table_rows={"public.items": rows}
        )
        request = restore_request(
            dumper, postgres_url, target, root=tmp_path, keys=keys, mode="verify"
        )
        await dumper.publish(request)
        outcome = await restore_outcome(dumper, request)

        assert isinstance(outcome, RestoreFinished), outcome
        assert outcome.mode == "verify"
        assert outcome.verify_ok is ok
        expected = (
            [] if ok else [TableDifference(table="public.items", expected=rows, actual=60000)]
        )
        assert outcome.table_differences == expected
        assert not await database_exists(postgres_url, target)
