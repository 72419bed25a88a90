"""Sealing credentials for transport: round trip, and a wrong key fails in words."""

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, TypeAdapter

from shared.sealing import Sealer, UnsealError
from shared.specs import ConnectionSpec, LocalVolumeSpec, S3VolumeSpec, VolumeSpec


def _sealer() -> Sealer:
    return Sealer(SecretStr(Fernet.generate_key().decode()))


class TestSealer:
    def test_connection_spec_survives_a_round_trip_with_its_password(self):
        sealer = _sealer()
        spec = ConnectionSpec(
            type="postgresql", host="db", port=5432, username="u", password=SecretStr("pw")
        )

        opened = ConnectionSpec.model_validate(sealer.unseal(sealer.seal(spec)))

        assert opened == spec
        assert opened.password.get_secret_value() == "pw"

    def test_volume_spec_round_trip_keeps_its_type(self):
        sealer = _sealer()
        spec = S3VolumeSpec.model_validate(
            {
                "config": {
                    "endpoint": "s3.example:9000",
                    "bucket": "backups",
                    "access_key": "AK",
                    "secret_key": "SK",
                }
            }
        )

        opened = TypeAdapter(VolumeSpec).validate_python(sealer.unseal(sealer.seal(spec)))

        assert isinstance(opened, S3VolumeSpec)
        assert opened.config.secret_key.get_secret_value() == "SK"

    def test_the_token_does_not_contain_the_secret(self):
        spec = LocalVolumeSpec.model_validate({"config": {"path": "/very-secret-path"}})

        assert "very-secret-path" not in _sealer().seal(spec)

    def test_a_wrong_key_raises_unseal_error_with_a_sentence(self):
        token = _sealer().seal({"password": "pw"})

        with pytest.raises(UnsealError) as caught:
            _sealer().unseal(token)

        message = str(caught.value)
        assert "SEAL_KEY" in message
        assert " " in message
        assert "pw" not in message.replace("opened", "")

    def test_a_tampered_token_raises_unseal_error(self):
        sealer = _sealer()
        token = sealer.seal({"password": "pw"})
        tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

        with pytest.raises(UnsealError):
            sealer.unseal(tampered)
