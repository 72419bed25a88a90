"""Pure api logic: the vault across key rotation, database lists' lifetime, volume changes,
tokens, and text fields."""

from uuid import uuid4

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from services.api.databases import DatabaseLists
from services.api.errors import InvalidRequestError
from services.api.models import Volume
from services.api.schemas import ServerCreate, VolumeUpdate
from services.api.tokens import new_token, token_hash
from services.api.vault import Vault, VaultError, parse_keys
from services.api.volumes import changed_volume, volume_spec
from shared.events import utc_now
from shared.specs import S3VolumeSpec


def key() -> SecretStr:
    return SecretStr(Fernet.generate_key().decode())


class TestVault:
    def test_previous_keys_still_open_and_the_first_seals(self):
        old, new = key(), key()
        sealed_old = Vault(old).seal({"password": "p"})
        both = Vault(new, previous=[old])
        assert both.unseal(sealed_old) == {"password": "p"}
        assert Vault(new).unseal(both.seal({"a": 1})) == {"a": 1}

    def test_rotate_reseals_with_the_first_key(self):
        old, new = key(), key()
        rotated = Vault(new, previous=[old]).rotate(Vault(old).seal({"x": "y"}))
        assert Vault(new).unseal(rotated) == {"x": "y"}
        with pytest.raises(VaultError):
            Vault(old).unseal(rotated)

    def test_a_foreign_secret_is_a_vault_error_without_the_key(self):
        stranger = Vault(key()).seal({"x": 1})
        mine = key()
        with pytest.raises(VaultError) as caught:
            Vault(mine).unseal(stranger)
        assert mine.get_secret_value() not in str(caught.value)

    def test_parse_keys_refuses_a_bad_key(self):
        good = key().get_secret_value()
        assert [k.get_secret_value() for k in parse_keys(f"{good}, {good}")] == [good, good]
        with pytest.raises(ValueError, match="not a valid Fernet key"):
            parse_keys("nope")


class TestDatabaseLists:
    def test_a_list_is_kept_for_its_ttl_then_forgotten(self):
        now = [100.0]
        lists = DatabaseLists(ttl=30, clock=lambda: now[0])
        server = uuid4()
        assert lists.cached(server) is None
        lists.remember(server, ["shop"])
        now[0] += 29
        assert lists.cached(server) == ["shop"]
        now[0] += 2
        assert lists.cached(server) is None

    def test_forget_and_zero_ttl(self):
        server = uuid4()
        lists = DatabaseLists(ttl=30)
        lists.remember(server, ["a"])
        lists.forget(server)
        assert lists.cached(server) is None
        never = DatabaseLists(ttl=0)
        never.remember(server, ["a"])
        assert never.cached(server) is None


def s3_volume(vault: Vault) -> Volume:
    spec = S3VolumeSpec.model_validate(
        {
            "config": {
                "endpoint": "s3.local",
                "bucket": "bkt",
                "access_key": "ak",
                "secret_key": "sk-secret",
            }
        }
    )
    return Volume(
        id=uuid4(),
        name="s3",
        type="s3",
        config={},
        spec_sealed=vault.seal(spec),
        created_at=utc_now(),
    )


class TestChangedVolume:
    def test_left_out_config_keys_and_the_secret_are_kept(self):
        vault = Vault(key())
        volume = s3_volume(vault)
        changed = changed_volume(volume, VolumeUpdate(config={"bucket": "other"}), vault=vault)
        assert changed.config.bucket == "other"
        assert changed.config.secret_key.get_secret_value() == "sk-secret"
        assert volume_spec(volume, vault=vault).config.bucket == "bkt"

    def test_a_new_type_needs_a_whole_config(self):
        vault = Vault(key())
        with pytest.raises(InvalidRequestError, match="whole new config"):
            changed_volume(s3_volume(vault), VolumeUpdate(type="local"), vault=vault)
        changed = changed_volume(
            s3_volume(vault), VolumeUpdate(type="local", config={"path": "/srv"}), vault=vault
        )
        assert changed.type == "local"

    def test_an_invalid_change_names_the_field_not_the_secret(self):
        vault = Vault(key())
        with pytest.raises(InvalidRequestError) as caught:
            changed_volume(s3_volume(vault), VolumeUpdate(config={"bucket": "x"}), vault=vault)
        assert "config.bucket" in str(caught.value)
        assert "sk-secret" not in str(caught.value)


class TestTokens:
    def test_tokens_are_random_prefixed_and_hashed(self):
        first, second = new_token(), new_token()
        assert first != second
        assert first.startswith("dbm_")
        assert len(token_hash(first)) == 64
        assert token_hash(first) != token_hash(second)
        assert first not in token_hash(first)


class TestTextFields:
    @pytest.mark.parametrize(
        "change",
        [{"name": "a\x00b"}, {"host": "db\x00"}, {"host": "db host"}, {"password": "\x00"}],
    )
    def test_control_characters_are_refused(self, change):
        body = {
            "name": "n",
            "type": "mysql",
            "host": "h",
            "port": 1,
            "username": "u",
            "password": "p",
        }
        with pytest.raises(ValidationError):
            ServerCreate.model_validate(body | change)
