"""What the api stores in its outbox: sealed events, never a secret in clear."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, TypeAdapter

from services.api.adapters.outbox import deserialize, serialize
from services.api.backups import plan_backups, user_databases
from services.api.models import Server, Volume
from shared.events import BackupRequested
from shared.sealing import Sealer, UnsealError
from shared.specs import ConnectionSpec, S3VolumeConfig, S3VolumeSpec, VolumeSpec

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
PASSWORD = "hunter2-secret"
SECRET_KEY = "wJalrXUtnFEMI-secret"


def keys() -> tuple[Sealer, Sealer]:
    return Sealer(SecretStr(Fernet.generate_key().decode())), Sealer(
        SecretStr(Fernet.generate_key().decode())
    )


def server(vault: Sealer) -> Server:
    return Server(
        id=uuid4(),
        name="prod",
        type="mysql",
        host="db.internal",
        port=3306,
        username="backup",
        database=None,
        password_sealed=vault.seal({"password": PASSWORD}),
        created_at=NOW,
    )


def s3_volume(vault: Sealer) -> Volume:
    spec = S3VolumeSpec(
        config=S3VolumeConfig(
            endpoint="s3.example.com",
            bucket="backups",
            access_key="AKIA",
            secret_key=SecretStr(SECRET_KEY),
        )
    )
    return Volume(
        id=uuid4(),
        name="offsite",
        type="s3",
        config={"bucket": "backups"},
        spec_sealed=vault.seal(spec),
        created_at=NOW,
    )


class TestOutboxPayload:
    def test_stored_event_has_no_secret_in_clear(self):
        vault, sealer = keys()
        planned = plan_backups(
            server(vault), [s3_volume(vault)], ["shop"], compression="gzip", now=NOW,
            vault=vault, sealer=sealer,
        )  # fmt: skip
        payload = serialize(planned[0][1])
        assert PASSWORD not in payload
        assert SECRET_KEY not in payload
        assert "AKIA" not in payload

    def test_stored_event_round_trips_and_unseals_with_the_seal_key(self):
        vault, sealer = keys()
        (request, event), = plan_backups(
            server(vault), [s3_volume(vault)], ["shop"], compression="zstd", now=NOW,
            vault=vault, sealer=sealer,
        )  # fmt: skip
        restored = deserialize(BackupRequested.routing_key, serialize(event))
        assert restored == event
        assert isinstance(restored, BackupRequested)
        connection = ConnectionSpec.model_validate(sealer.unseal(restored.connection))
        assert connection.password.get_secret_value() == PASSWORD
        volume = TypeAdapter(VolumeSpec).validate_python(sealer.unseal(restored.destination.volume))
        assert isinstance(volume, S3VolumeSpec)
        assert volume.config.secret_key.get_secret_value() == SECRET_KEY
        assert (
            restored.destination.artifact_key == f"prod/shop/20261125T030000Z_{request.id}.sql.zst"
        )
        assert request.id == event.snapshot_id

    def test_credentials_key_cannot_open_what_travels(self):
        """Events are sealed with SEAL_KEY, not with the key that protects rows at rest."""
        vault, sealer = keys()
        (_, event), = plan_backups(
            server(vault), [s3_volume(vault)], ["shop"], compression="gzip", now=NOW,
            vault=vault, sealer=sealer,
        )  # fmt: skip
        assert json.loads(serialize(event))["connection"] != vault.seal({"password": PASSWORD})
        with pytest.raises(UnsealError):
            vault.unseal(event.connection)

    def test_one_event_per_database_each_with_its_own_snapshot(self):
        vault, sealer = keys()
        planned = plan_backups(
            server(vault), [s3_volume(vault)], ["a", "b", "c"], compression="gzip", now=NOW,
            vault=vault, sealer=sealer,
        )  # fmt: skip
        assert [event.database for _, event in planned] == ["a", "b", "c"]
        assert len({event.snapshot_id for _, event in planned}) == 3


class TestSeveralVolumes:
    def test_the_first_volume_is_the_destination_the_others_are_copies(self):
        vault, sealer = keys()
        primary, second, third = s3_volume(vault), s3_volume(vault), s3_volume(vault)
        (request, event), = plan_backups(
            server(vault), [primary, second, third], ["shop"], compression="gzip", now=NOW,
            vault=vault, sealer=sealer,
        )  # fmt: skip
        assert request.volume_id == primary.id
        assert event.destination.volume_id == primary.id
        assert [copy.volume_id for copy in event.copies] == [second.id, third.id]
        assert {copy.artifact_key for copy in event.copies} == {event.destination.artifact_key}
        for copy in event.copies:
            spec = TypeAdapter(VolumeSpec).validate_python(sealer.unseal(copy.volume))
            assert isinstance(spec, S3VolumeSpec)

    def test_config_encryption_and_level_travel_in_the_event(self):
        vault, sealer = keys()
        config_id = uuid4()
        (_, event), = plan_backups(
            server(vault), [s3_volume(vault)], ["shop"], compression="zstd", now=NOW,
            vault=vault, sealer=sealer, config_id=config_id, encrypted=True, compression_level=7,
        )  # fmt: skip
        assert event.config_id == config_id
        assert event.encrypted is True
        assert event.compression_level == 7
        assert event.destination.artifact_key.endswith(".sql.zst.enc")
        assert event.copies == []

    def test_no_volume_is_refused(self):
        vault, sealer = keys()
        with pytest.raises(ValueError, match="at least one volume"):
            plan_backups(
                server(vault), [], ["shop"], compression="gzip", now=NOW, vault=vault,
                sealer=sealer,
            )  # fmt: skip


class TestUserDatabases:
    def test_system_databases_are_left_out(self):
        listed = ["postgres", "shop", "template0", "template1", "mysql", "sys", "crm",
                  "information_schema", "performance_schema", "shop"]  # fmt: skip
        assert user_databases(listed) == ["crm", "shop"]
