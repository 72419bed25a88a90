"""Where artifacts and manifests live on a volume."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from shared.naming import artifact_key, manifest_key

SNAPSHOT = UUID("5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d")


class TestArtifactKey:
    def test_is_server_database_utc_timestamp_and_snapshot_id(self):
        key = artifact_key(
            server_name="prod-db",
            database="shop",
            requested_at=datetime(2026, 11, 25, 3, 0, 7, tzinfo=UTC),
            snapshot_id=SNAPSHOT,
            compression="gzip",
        )

        assert key == f"prod-db/shop/20261125T030007Z_{SNAPSHOT}.sql.gz"

    def test_converts_the_timestamp_to_utc_and_uses_zst_for_zstd(self):
        paris = timezone(timedelta(hours=1))
        key = artifact_key(
            server_name="prod-db",
            database="shop",
            requested_at=datetime(2026, 11, 25, 4, 0, 0, tzinfo=paris),
            snapshot_id=SNAPSHOT,
            compression="zstd",
        )

        assert key == f"prod-db/shop/20261125T030000Z_{SNAPSHOT}.sql.zst"

    def test_an_encrypted_artifact_ends_in_enc(self):
        key = artifact_key(
            server_name="prod-db",
            database="shop",
            requested_at=datetime(2026, 11, 25, 3, 0, 7, tzinfo=UTC),
            snapshot_id=SNAPSHOT,
            compression="gzip",
            encrypted=True,
        )

        assert key == f"prod-db/shop/20261125T030007Z_{SNAPSHOT}.sql.gz.enc"

    @pytest.mark.parametrize(
        ("server", "database", "expected"),
        [
            ("a/b", "c\\d", "a_b/c_d"),
            ("..", ".", "_/_"),
            ("  ", "shop", "_/shop"),
        ],
    )
    def test_names_never_escape_their_path_segment(self, server, database, expected):
        key = artifact_key(
            server_name=server,
            database=database,
            requested_at=datetime(2026, 1, 1, tzinfo=UTC),
            snapshot_id=SNAPSHOT,
            compression="gzip",
        )

        assert key.rsplit("/", 1)[0] == expected
        assert key.count("/") == 2


class TestManifestKey:
    @pytest.mark.parametrize(
        ("artifact", "manifest"),
        [
            ("s/d/20261125T030000Z_x.sql.gz", "s/d/20261125T030000Z_x.manifest.json"),
            ("s/d/20261125T030000Z_x.sql.zst", "s/d/20261125T030000Z_x.manifest.json"),
            ("s/d/20261125T030000Z_x.sql.gz.enc", "s/d/20261125T030000Z_x.manifest.json"),
            ("s/d/20261125T030000Z_x.sql.zst.enc", "s/d/20261125T030000Z_x.manifest.json"),
            ("s/d/unknown.bin", "s/d/unknown.bin.manifest.json"),
        ],
    )
    def test_sits_beside_the_artifact(self, artifact, manifest):
        assert manifest_key(artifact) == manifest
