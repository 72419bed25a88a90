"""Request bodies: what is refused (HTTP 422) and what is never echoed."""

import pytest
from pydantic import TypeAdapter, ValidationError

from services.api.schemas import BackupCreate, ServerCreate, VolumeCreate
from services.api.schemas.volumes import public_config

SERVER = {
    "name": "prod",
    "type": "postgresql",
    "host": "db",
    "port": 5432,
    "username": "u",
    "password": "hunter2",
}
S3 = {
    "endpoint": "s3:9000",
    "bucket": "backups",
    "access_key": "AKIA",
    "secret_key": "wJalr-secret",
    "secure": False,
}
volume_create = TypeAdapter(VolumeCreate)
ID = "00000000-0000-4000-8000-000000000001"


class TestServerCreate:
    @pytest.mark.parametrize(
        "change",
        [{"type": "oracle"}, {"port": 0}, {"port": 70000}, {"host": ""}, {"name": ""}, {"x": 1}],
    )
    def test_invalid_server_is_refused(self, change):
        with pytest.raises(ValidationError):
            ServerCreate.model_validate(SERVER | change)

    def test_password_is_missing_is_refused(self):
        with pytest.raises(ValidationError):
            ServerCreate.model_validate({k: v for k, v in SERVER.items() if k != "password"})

    def test_the_password_does_not_show_in_its_repr(self):
        assert "hunter2" not in repr(ServerCreate.model_validate(SERVER))


class TestVolumeCreate:
    def test_local_path_must_be_absolute(self):
        with pytest.raises(ValidationError, match="path must be absolute"):
            volume_create.validate_python({"name": "v", "type": "local", "config": {"path": "x"}})

    def test_s3_config_on_a_local_volume_is_refused(self):
        with pytest.raises(ValidationError):
            volume_create.validate_python({"name": "v", "type": "local", "config": S3})

    def test_unknown_type_is_refused(self):
        with pytest.raises(ValidationError):
            volume_create.validate_python({"name": "v", "type": "ftp", "config": {"path": "/x"}})

    def test_public_config_leaves_the_secret_out(self):
        volume = volume_create.validate_python({"name": "v", "type": "s3", "config": S3})
        config = public_config(volume)
        assert "secret_key" not in config
        assert config["bucket"] == "backups"
        assert config["prefix"] == ""


class TestBackupCreate:
    def test_compression_defaults_to_gzip(self):
        body = BackupCreate.model_validate({"server_id": ID, "database": "shop", "volume_id": ID})
        assert body.compression == "gzip"

    def test_null_database_means_every_database(self):
        body = BackupCreate.model_validate({"server_id": ID, "database": None, "volume_id": ID})
        assert body.database is None

    @pytest.mark.parametrize(
        "body",
        [
            {"server_id": ID, "volume_id": ID},
            {"server_id": "x", "database": "a", "volume_id": ID},
            {"server_id": ID, "database": "a", "volume_id": ID, "compression": "lz4"},
            {"server_id": ID, "database": "", "volume_id": ID},
        ],
    )
    def test_invalid_backup_is_refused(self, body):
        with pytest.raises(ValidationError):
            BackupCreate.model_validate(body)
