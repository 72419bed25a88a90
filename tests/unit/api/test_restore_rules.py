"""The rules a restore request must pass: engine families, own and system databases, names."""

import re
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.api.errors import ConflictError, InvalidRequestError
from services.api.models import Server
from services.api.restores import (
    check_engine,
    check_not_own,
    compression_of,
    engine_of,
    new_request,
    own_database,
    pending_restore,
    restore_event,
    scratch_database,
)
from services.api.schemas.restores import RestoreCreate
from shared.events import ArtifactAnchor

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def server(kind: str = "postgresql", host: str = "db.internal", port: int = 5432) -> Server:
    return Server(
        id=uuid4(),
        name="target",
        type=kind,  # type: ignore[arg-type]
        host=host,
        port=port,
        username="u",
        database=None,
        password_sealed="x",
        created_at=NOW,
    )


class TestEngineFamily:
    @pytest.mark.parametrize(
        ("source", "target"),
        [
            ("postgresql", "postgresql"),
            ("mysql", "mysql"),
            ("mysql", "mariadb"),
            ("mariadb", "mysql"),
            ("mariadb", "mariadb"),
        ],
    )
    def test_the_same_family_is_accepted(self, source, target):
        check_engine(source, server(target))

    @pytest.mark.parametrize(
        ("source", "target"),
        [("postgresql", "mysql"), ("postgresql", "mariadb"), ("mysql", "postgresql")],
    )
    def test_another_family_is_refused_with_both_engines_named(self, source, target):
        with pytest.raises(InvalidRequestError) as refused:
            check_engine(source, server(target))
        assert str(refused.value) == (
            f"a {source} snapshot cannot be restored into a {target} server"
        )

    def test_an_unknown_engine_is_refused(self):
        with pytest.raises(InvalidRequestError, match="unknown"):
            check_engine(None, server())

    def test_the_engine_comes_from_the_record_then_the_manifest_then_the_source(self):
        source = server("mariadb")
        assert engine_of(server_type="mysql", manifest=None, source=source) == "mysql"
        assert engine_of(server_type=None, manifest={"tool": "pg_dump"}, source=source) == (
            "postgresql"
        )
        assert engine_of(server_type=None, manifest={"tool": "mariadb-dump"}, source=None) == (
            "mariadb"
        )
        assert engine_of(server_type=None, manifest={"tool": "mysqldump"}, source=None) == "mysql"
        assert engine_of(server_type=None, manifest=None, source=source) == "mariadb"
        assert engine_of(server_type=None, manifest={}, source=None) is None


class TestOwnDatabases:
    URL = "postgresql://postgres@127.0.0.1:5432/databasement"

    def test_the_url_gives_host_port_and_name(self):
        own = own_database(self.URL)
        assert own is not None
        assert (own.host, own.port, own.name) == ("localhost", 5432, "databasement")
        assert own_database("postgresql://db/x").port == 5432  # type: ignore[union-attr]
        assert own_database("postgresql://db:5433") is None

    @pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST", "::1"])
    def test_the_service_database_on_its_own_server_is_refused(self, host):
        with pytest.raises(ConflictError, match="is the service's own database"):
            check_not_own(server(host=host), "databasement", own=own_database(self.URL))

    def test_its_name_on_another_server_is_refused_too(self):
        with pytest.raises(ConflictError, match="has the name of the service's own database"):
            check_not_own(server(host="elsewhere"), "databasement", own=own_database(self.URL))

    def test_another_port_or_name_is_accepted(self):
        check_not_own(server(host="127.0.0.1", port=5433), "shop", own=own_database(self.URL))
        check_not_own(server(host="127.0.0.1"), "databasement_copy", own=own_database(self.URL))

    @pytest.mark.parametrize("name", ["postgres", "template1", "mysql", "information_schema"])
    def test_a_system_database_is_refused(self, name):
        with pytest.raises(ConflictError, match="is a system database"):
            check_not_own(server(), name, own=None)


class TestNames:
    def test_a_scratch_name_is_dbm_verify_and_8_hex(self):
        names = {scratch_database() for _ in range(20)}
        assert len(names) == 20
        assert all(re.fullmatch(r"dbm_verify_[0-9a-f]{8}", name) for name in names)

    @pytest.mark.parametrize("name", ["", "a\nb", "tab\there", "x" * 64, "é" * 32])
    def test_a_bad_database_name_is_refused(self, name):
        with pytest.raises(ValidationError):
            RestoreCreate(snapshot_id=uuid4(), server_id=uuid4(), database=name)

    @pytest.mark.parametrize("name", ["shop", "x" * 63, "é" * 31, "Shop Copy-2"])
    def test_a_good_database_name_is_accepted(self, name):
        assert RestoreCreate(snapshot_id=uuid4(), server_id=uuid4(), database=name).database == name

    def test_compression_comes_from_the_record_else_the_extension(self):
        assert compression_of("zstd", "a.sql.gz") == "zstd"
        assert compression_of(None, "a/b.sql.zst") == "zstd"
        assert compression_of(None, "a/b.sql.gz") == "gzip"


class TestEvent:
    def test_the_event_carries_the_target_and_the_source_sealed(self):
        target = server("mariadb")
        request = new_request(
            uuid4(), uuid4(), mode="restore", target=target, database="d", overwrite=True, now=NOW
        )
        volume_id = uuid4()
        anchor = ArtifactAnchor(sha256="a" * 64, size=10, manifest_digest="b" * 64, encrypted=False)
        event = restore_event(
            request,
            target=target,
            connection="sealed-conn",
            volume_id=volume_id,
            volume="sealed-volume",
            path="prod/shop/x.sql.zst",
            manifest_path=None,
            compression="zstd",
            anchor=anchor,
        )
        assert (event.snapshot_id, event.restore_id) == (request.snapshot_id, request.id)
        assert (event.server_id, event.server_type, event.connection) == (
            target.id,
            "mariadb",
            "sealed-conn",
        )
        assert (event.database, event.overwrite, event.mode) == ("d", True, "restore")
        assert event.source.model_dump() == {
            "volume_id": volume_id,
            "volume": "sealed-volume",
            "artifact_key": "prod/shop/x.sql.zst",
            "manifest_key": "prod/shop/x.manifest.json",
            "compression": "zstd",
            "anchor": anchor.model_dump(),
        }
        pending = pending_restore(request)
        assert (pending.status, pending.id, pending.created_at) == ("pending", request.id, NOW)
