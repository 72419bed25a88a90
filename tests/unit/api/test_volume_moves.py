"""An S3 volume's stored secret key never follows it to another endpoint."""

from uuid import uuid4

import pytest
from pydantic import SecretStr

from services.api.errors import InvalidRequestError
from services.api.models import Volume
from services.api.schemas.volumes import VolumeUpdate
from services.api.settings import DEV_CREDENTIALS_KEY
from services.api.vault import Vault
from services.api.volumes import changed_volume, endpoint_host
from shared.events import utc_now
from shared.specs import S3VolumeConfig, S3VolumeSpec

VAULT = Vault(SecretStr(DEV_CREDENTIALS_KEY))
CONFIG = S3VolumeConfig(
    endpoint="s3.example.com:9000",
    bucket="backups",
    access_key="AKIA",
    secret_key=SecretStr("stored-secret"),
)


def stored() -> Volume:
    return Volume(
        id=uuid4(),
        name="s3",
        type="s3",
        config={},
        spec_sealed=VAULT.seal(S3VolumeSpec(config=CONFIG)),
        created_at=utc_now(),
    )


class TestMovingAnS3Volume:
    @pytest.mark.parametrize("config", [{"endpoint": "evil.example:9000"}, {"secure": False}])
    def test_a_move_without_the_secret_key_is_refused(self, config):
        with pytest.raises(InvalidRequestError, match="enter the secret key again"):
            changed_volume(stored(), VolumeUpdate(config=config), vault=VAULT)

    @pytest.mark.parametrize(
        "endpoint", ["s3.example.com:9000", "HTTPS://S3.Example.com:9000/", "s3.example.com:9000/"]
    )
    def test_the_same_endpoint_written_differently_is_no_move(self, endpoint):
        changed = changed_volume(stored(), VolumeUpdate(config={"endpoint": endpoint}), vault=VAULT)
        assert changed.config.secret_key.get_secret_value() == "stored-secret"

    def test_a_move_with_a_new_secret_key_is_taken(self):
        change = VolumeUpdate(config={"endpoint": "s3-2.example.com", "secret_key": "new"})
        changed = changed_volume(stored(), change, vault=VAULT)
        assert changed.config.endpoint == "s3-2.example.com"


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [("http://169.254.169.254:80/", "169.254.169.254"), ("[fd00:ec2::254]:9000", "fd00:ec2::254")],
)
def test_the_host_of_an_endpoint(endpoint, host):
    assert endpoint_host(endpoint) == host
