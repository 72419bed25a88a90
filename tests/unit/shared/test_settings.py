"""Settings: each class reads its own environment prefix, and prod refuses dev secrets."""

import pytest
from pydantic import SecretStr, ValidationError

from services.api.settings import ApiSettings
from services.catalog.settings import CatalogSettings
from services.dumper.settings import DumperSettings
from services.uploader.settings import UploaderSettings
from shared.settings import (
    DEV_SEAL_KEY,
    BrokerSettings,
    DatabaseSettings,
    SealSettings,
    StagingSettings,
    refuse_dev_secrets,
)


class TestEnvironmentPrefixes:
    def test_broker_settings_read_broker_prefix(self, monkeypatch):
        monkeypatch.setenv("BROKER_URL", "amqp://u:p@rabbit.example:5672/vh")
        monkeypatch.setenv("BROKER_NAMESPACE", "staging")
        monkeypatch.setenv("BROKER_DELIVERY_LIMIT", "7")

        settings = BrokerSettings()

        assert settings.url.get_secret_value() == "amqp://u:p@rabbit.example:5672/vh"
        assert settings.namespace == "staging"
        assert settings.delivery_limit == 7

    def test_database_settings_read_database_prefix(self, monkeypatch):
        monkeypatch.setenv("DATABASE_URL", "postgresql://u@pg.example/dbm")
        monkeypatch.setenv("DATABASE_POOL_MAX", "9")

        settings = DatabaseSettings()

        assert settings.url.get_secret_value() == "postgresql://u@pg.example/dbm"
        assert settings.pool_max == 9

    def test_staging_and_seal_read_their_prefixes(self, monkeypatch, tmp_path):
        monkeypatch.setenv("STAGING_PATH", str(tmp_path))
        monkeypatch.setenv("SEAL_KEY", "k" * 43 + "=")

        assert StagingSettings().path == tmp_path
        assert SealSettings().key.get_secret_value() == "k" * 43 + "="

    def test_each_service_reads_its_own_http_port(self, monkeypatch):
        monkeypatch.setenv("API_HTTP_PORT", "9100")
        monkeypatch.setenv("DUMPER_HTTP_PORT", "9101")
        monkeypatch.setenv("UPLOADER_HTTP_PORT", "9102")
        monkeypatch.setenv("CATALOG_HTTP_PORT", "9103")

        assert ApiSettings().http_port == 9100
        assert DumperSettings().http_port == 9101
        assert UploaderSettings().http_port == 9102
        assert CatalogSettings().http_port == 9103

    def test_default_ports_do_not_collide(self, monkeypatch):
        for name in ("API", "DUMPER", "UPLOADER", "CATALOG"):
            monkeypatch.delenv(f"{name}_HTTP_PORT", raising=False)
        ports = [cls().http_port for cls in (ApiSettings, DumperSettings, UploaderSettings)]
        ports.append(CatalogSettings().http_port)

        assert ports == [8000, 8001, 8002, 8003]

    def test_services_compose_the_shared_prefixes(self, monkeypatch):
        monkeypatch.setenv("BROKER_NAMESPACE", "shared-ns")
        monkeypatch.setenv("DATABASE_URL", "postgresql://u@pg.example/shared")

        for settings in (ApiSettings(), DumperSettings(), UploaderSettings(), CatalogSettings()):
            assert settings.broker.namespace == "shared-ns"
            assert settings.database.url.get_secret_value() == "postgresql://u@pg.example/shared"

    def test_a_service_prefix_does_not_leak_into_another(self, monkeypatch):
        monkeypatch.delenv("API_HTTP_PORT", raising=False)
        monkeypatch.setenv("CATALOG_HTTP_PORT", "9999")

        assert ApiSettings().http_port == 8000

    def test_invalid_values_are_refused(self, monkeypatch):
        monkeypatch.setenv("BROKER_NAMESPACE", "Not Valid")

        with pytest.raises(ValidationError):
            BrokerSettings()


class TestRefuseDevSecrets:
    def test_prod_with_the_development_seal_key_is_refused(self):
        settings = CatalogSettings(environment="prod")

        with pytest.raises(ValueError, match="SEAL_KEY"):
            refuse_dev_secrets(settings, SealSettings(key=SecretStr(DEV_SEAL_KEY)))

    def test_dev_with_the_development_key_is_accepted(self):
        refuse_dev_secrets(CatalogSettings(environment="dev"), SealSettings(key=DEV_SEAL_KEY))

    def test_prod_with_its_own_key_is_accepted(self):
        refuse_dev_secrets(CatalogSettings(environment="prod"), SealSettings(key="x" * 44))
