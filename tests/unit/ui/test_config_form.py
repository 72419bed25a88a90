"""The Configurations page's pure parts: the form's fields into the API's body and back, and
a configuration's database selection in words."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.api.schemas.backup_configs import BackupConfigCreate, BackupConfigPublic
from services.api.ui.forms import field_errors
from services.api.ui.pages.config_form import config_body, form_of
from services.api.ui.pages.configs import databases_text, retention_text

SERVER, PRIMARY, COPY = str(uuid4()), str(uuid4()), str(uuid4())


def form(**changes: str) -> dict[str, str]:
    return {
        "name": "shop-nightly",
        "server_id": SERVER,
        "mode": "all",
        "compression": "gzip",
        "timezone": "UTC",
        "enabled": "on",
    } | changes


def public(body: dict) -> BackupConfigPublic:
    now = datetime.now(UTC)
    created = BackupConfigCreate.model_validate(body)
    return BackupConfigPublic(**created.model_dump(), id=uuid4(), created_at=now, updated_at=now)


class TestConfigBody:
    def test_a_full_form_becomes_the_api_body_with_the_primary_first(self):
        values = form(
            mode="pattern",
            pattern="shop_.*",
            exclude="shop_old, shop_tmp",
            compression="zstd",
            compression_level="9",
            encrypt="on",
            schedule="0 2 * * *",
            timezone="Europe/Berlin",
            keep_last="7",
            weekly="4",
            rpo_hours="26",
        )
        config = BackupConfigCreate.model_validate(config_body(values, [PRIMARY, COPY]))
        assert [str(v) for v in config.volume_ids] == [PRIMARY, COPY]
        assert config.databases.mode == "pattern"
        assert config.databases.pattern == "shop_.*"
        assert config.databases.exclude == ["shop_old", "shop_tmp"]
        assert (config.compression, config.compression_level, config.encrypt) == ("zstd", 9, True)
        assert (config.schedule, config.timezone) == ("0 2 * * *", "Europe/Berlin")
        assert config.retention.keep_last == 7
        assert config.retention.keep_days is None
        assert config.retention.gfs is not None
        assert (config.retention.gfs.daily, config.retention.gfs.weekly) == (0, 4)
        assert config.rpo_hours == 26
        assert config.enabled is True

    def test_hooks_are_names_and_a_blank_choice_is_none(self):
        picked = BackupConfigCreate.model_validate(
            config_body(form(post_backup_hook="ui-audit", post_restore_hook=""), [PRIMARY])
        )
        assert (picked.post_backup_hook, picked.post_restore_hook) == ("ui-audit", None)
        values = form_of(public(picked.model_dump(mode="json")))
        assert (values["post_backup_hook"], values["post_restore_hook"]) == ("ui-audit", "")

    def test_blank_fields_are_the_api_defaults(self):
        config = BackupConfigCreate.model_validate(config_body(form(enabled=""), [PRIMARY]))
        assert config.schedule is None
        assert config.compression_level is None
        assert config.retention.gfs is None
        assert config.retention.keep_last is None
        assert config.rpo_hours is None
        assert config.encrypt is False
        assert config.enabled is False

    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"schedule": "every day"}, "schedule", "must have 5 fields"),
            ({"keep_last": "seven"}, "keep_last", "integer"),
            ({"mode": "list", "names": "postgres"}, "databases", "system database"),
        ],
    )
    def test_the_api_refusal_lands_next_to_the_field(self, changes, field, words):
        with pytest.raises(ValidationError) as caught:
            BackupConfigCreate.model_validate(config_body(form(**changes), [PRIMARY]))
        errors = field_errors(caught.value)
        assert field in errors, errors
        assert words in errors[field]

    def test_no_volume_is_refused(self):
        with pytest.raises(ValidationError) as caught:
            BackupConfigCreate.model_validate(config_body(form(), []))
        assert "volume_ids" in field_errors(caught.value)


class TestFormOfAndWords:
    def test_a_stored_configuration_fills_the_form_it_came_from(self):
        values = form(
            mode="list",
            names="shop, crm",
            exclude="",
            compression="zstd",
            compression_level="3",
            encrypt="on",
            schedule="*/5 * * * * *",
            keep_days="30",
            daily="7",
            weekly="4",
            monthly="12",
            rpo_hours="1.5",
        )
        config = public(config_body(values, [PRIMARY]))
        assert config_body(form_of(config), [PRIMARY]) == config_body(values, [PRIMARY])

    @pytest.mark.parametrize(
        ("databases", "words"),
        [
            ({"mode": "all"}, "all"),
            ({"mode": "list", "names": ["shop", "crm"]}, "shop, crm"),
            (
                {"mode": "pattern", "pattern": "shop_.*", "exclude": ["shop_old"]},
                "matching shop_.* (except shop_old)",
            ),
        ],
    )
    def test_databases_in_words(self, databases, words):
        body = config_body(form(), [PRIMARY]) | {"databases": databases}
        assert databases_text(public(body)) == words


@pytest.mark.parametrize(
    ("retention", "words"),
    [
        ({}, "keep all"),
        ({"keep_last": 7, "keep_days": 30}, "last 7, 30 days"),
        ({"gfs": {"daily": 7, "weekly": 4, "monthly": 12}}, "GFS 7/4/12"),
        ({"gfs": {"daily": 0}}, "keep all"),
    ],
)
def test_retention_in_words(retention, words):
    body = config_body(form(), [PRIMARY]) | {"retention": retention}
    assert retention_text(public(body)) == words
