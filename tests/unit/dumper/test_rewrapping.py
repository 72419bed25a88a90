"""Master-key rotation in the dumper: only the manifest's wrapped key changes, and failures
come back as KeysRewrapFailed sentences."""

import json
import uuid

import pytest
from pydantic import SecretStr

from services.dumper.rewrapping import Rewrapper
from shared.encryption import generate_master_key, new_data_key, parse_keyring, unwrap_data_key
from shared.encryption import wrap_data_key as wrap
from shared.events import Event, KeysRewrapFailed, KeysRewrapped, KeysRewrapRequested
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.specs import LocalVolumeConfig, LocalVolumeSpec
from shared.volumes import ObjectMissingError

OLD = generate_master_key("old")
NEW = generate_master_key("new")
KEY = "s/d/x.manifest.json"


class FakeStore:
    def __init__(self, manifest: dict[str, object] | None) -> None:
        self.data = None if manifest is None else json.dumps(manifest).encode()
        self.writes = 0

    async def read(self, key: str) -> bytes:
        if self.data is None:
            raise ObjectMissingError(f"{key} is not on the volume")
        return self.data

    async def write(self, _key: str, data: bytes) -> None:
        self.data = data
        self.writes += 1


class Setup:
    def __init__(self, keyring_text: str | None, manifest: dict[str, object] | None) -> None:
        self.sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        self.store = FakeStore(manifest)
        self.published: list[Event] = []

        async def publish(event: Event) -> None:
            self.published.append(event)

        self.rewrapper = Rewrapper(
            sealer=self.sealer,
            keyring=parse_keyring(keyring_text) if keyring_text else None,
            open_volume=lambda _spec: self.store,
            publish=publish,
        )

    def request(self, snapshot_id: uuid.UUID) -> KeysRewrapRequested:
        volume = LocalVolumeSpec(config=LocalVolumeConfig(path="/srv/v"))
        return KeysRewrapRequested(
            snapshot_id=snapshot_id,
            volume_id=uuid.uuid4(),
            volume=self.sealer.seal(volume),
            manifest_key=KEY,
        )


def manifest_wrapped_by(entry: str, snapshot_id: uuid.UUID, data_key: bytes) -> dict[str, object]:
    keyring = parse_keyring(entry)
    return {
        "snapshot_id": str(snapshot_id),
        "chunks": [{"seq": 0}],
        "encryption": {
            "algorithm": "AES-256-GCM",
            "key_id": keyring.active.key_id,
            "wrapped_key": wrap(data_key, keyring.active, snapshot_id),
        },
    }


class TestRewrap:
    async def test_the_same_data_key_is_wrapped_by_the_active_key_and_the_rest_kept(self):
        snapshot, data_key = uuid.uuid4(), new_data_key()
        setup = Setup(f"{NEW},{OLD}", manifest_wrapped_by(OLD, snapshot, data_key))

        outcome = await setup.rewrapper.rewrap(setup.request(snapshot))

        assert isinstance(outcome, KeysRewrapped)
        assert (outcome.previous_key_id, outcome.encryption.key_id) == ("old", "new")
        stored = json.loads(setup.store.data or b"")
        assert stored["encryption"] == outcome.encryption.model_dump()
        assert stored["chunks"] == [{"seq": 0}]
        only_new = parse_keyring(NEW)
        wrapped = stored["encryption"]["wrapped_key"]
        assert unwrap_data_key(wrapped, only_new, snapshot, key_id="new") == data_key
        assert setup.published == [outcome]

    async def test_already_wrapped_by_the_active_key_writes_nothing(self):
        snapshot = uuid.uuid4()
        setup = Setup(f"{NEW},{OLD}", manifest_wrapped_by(NEW, snapshot, new_data_key()))

        outcome = await setup.rewrapper.rewrap(setup.request(snapshot))

        assert isinstance(outcome, KeysRewrapped)
        assert setup.store.writes == 0

    @pytest.mark.parametrize(
        ("keys", "manifest", "fragment"),
        [
            (NEW, "wrapped-by-old", "cannot decrypt: wrong key"),
            (None, "wrapped-by-old", "DUMPER_MASTER_KEYS"),
            (NEW, "plain", "has no readable encryption block"),
            (NEW, None, "manifest missing"),
        ],
    )
    async def test_failures_are_sentences_and_change_nothing(self, keys, manifest, fragment):
        snapshot = uuid.uuid4()
        bodies = {
            "wrapped-by-old": manifest_wrapped_by(OLD, snapshot, new_data_key()),
            "plain": {"chunks": []},
            None: None,
        }
        setup = Setup(keys, bodies[manifest])

        outcome = await setup.rewrapper.rewrap(setup.request(snapshot))

        assert isinstance(outcome, KeysRewrapFailed)
        assert fragment in outcome.reason
        assert setup.store.writes == 0
