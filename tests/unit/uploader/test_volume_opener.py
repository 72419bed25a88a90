"""Opening a destination's sealed volume spec."""

from uuid import uuid4

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from services.uploader.adapters.volumes import VolumeOpener
from shared.events import Destination
from shared.sealing import Sealer, UnsealError
from shared.specs import LocalVolumeConfig, LocalVolumeSpec, S3VolumeConfig, S3VolumeSpec
from shared.volumes import LocalVolume, S3Volume


def sealer() -> Sealer:
    return Sealer(SecretStr(Fernet.generate_key().decode()))


def destination(token: str) -> Destination:
    return Destination(
        volume_id=uuid4(), volume=token, artifact_key="a/b/c.sql.gz", compression="gzip"
    )


class TestVolumeOpener:
    def test_opens_local_and_s3_specs_and_reuses_the_driver(self, tmp_path):
        seal = sealer()
        opener = VolumeOpener(seal)
        local = destination(
            seal.seal(LocalVolumeSpec(config=LocalVolumeConfig(path=str(tmp_path))))
        )
        s3 = destination(
            seal.seal(
                S3VolumeSpec(
                    config=S3VolumeConfig(
                        endpoint="http://127.0.0.1:9000/",
                        bucket="backups",
                        access_key="ak",
                        secret_key=SecretStr("sk"),
                    )
                )
            )
        )

        volume = opener.open(local)
        assert isinstance(volume, LocalVolume)
        assert volume.root == tmp_path
        assert opener.open(local) is volume
        s3_volume = opener.open(s3)
        assert isinstance(s3_volume, S3Volume)
        assert s3_volume.location == "127.0.0.1:9000/backups"

    def test_a_foreign_seal_is_refused_with_a_sentence(self, tmp_path):
        token = sealer().seal(LocalVolumeSpec(config=LocalVolumeConfig(path=str(tmp_path))))
        with pytest.raises(UnsealError, match="SEAL_KEY"):
            VolumeOpener(sealer()).open(destination(token))

    def test_the_cache_is_bounded(self, tmp_path):
        seal = sealer()
        opener = VolumeOpener(seal, cache_size=2)
        spec = LocalVolumeSpec(config=LocalVolumeConfig(path=str(tmp_path)))
        first = destination(seal.seal(spec))
        volume = opener.open(first)
        for _ in range(2):
            opener.open(destination(seal.seal(spec)))
        assert opener.open(first) is not volume
