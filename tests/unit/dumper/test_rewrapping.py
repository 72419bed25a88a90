"""Master-key rotation in the dumper: only the manifest's wrapped key changes, and failures
come back as KeysRewrapFailed sentences."""

import json
import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from services.dumper.rewrapping import Rewrapper
from shared.anchors import anchor_of
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
    def __init__(self, keyring_text: str | None, manifest: dict[str, Any] | None) -> None:
        self.sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        self.store = FakeStore(manifest)
        # What the catalog recorded when the backup completed: the manifest as written.
        self.anchor = anchor_of(manifest or {"chunks": []}, sha256="0" * 64, size=0)
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
            anchor=self.anchor,
        )


def manifest_wrapped_by(entry: str, snapshot_id: uuid.UUID, data_key: bytes) -> dict[str, Any]:
    keyring = parse_keyring(entry)
    return {
        "snapshot_id": str(snapshot_id),
        "sha256": "0" * 64,
        "size": 0,
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
        ids=["wrong-key", "no-keys", "plain", "no-manifest"],  # keys are random: fixed ids
    )
    async def test_failures_are_sentences_and_change_nothing(self, keys, manifest, fragment):
        snapshot = uuid.uuid4()
        bodies = {
            "wrapped-by-old": manifest_wrapped_by(OLD, snapshot, new_data_key()),
            "plain": {"chunks": [], "sha256": "0" * 64, "size": 0},
            None: None,
        }
        setup = Setup(keys, bodies[manifest])

        outcome = await setup.rewrapper.rewrap(setup.request(snapshot))

        assert isinstance(outcome, KeysRewrapFailed)
        assert fragment in outcome.reason
        assert setup.store.writes == 0


class TestRewrapTrustsOnlyTheCatalog:
    async def test_a_forged_chunk_list_is_not_rewritten(self):
        """Rewriting a forged manifest under a fresh key would launder it: refused."""
        snapshot, data_key = uuid.uuid4(), new_data_key()
        genuine = manifest_wrapped_by(OLD, snapshot, data_key)
        setup = Setup(f"{NEW},{OLD}", genuine)
        forged = genuine | {"chunks": [{"seq": 0, "sha256": "f" * 64}]}
        setup.store.data = json.dumps(forged).encode()

        outcome = await setup.rewrapper.rewrap(setup.request(snapshot))

        assert isinstance(outcome, KeysRewrapFailed)
        assert outcome.reason.startswith("artifact does not match the catalog (sha256 of the")
        assert setup.store.writes == 0

    async def test_a_request_without_the_catalogs_record_is_refused(self):
        snapshot = uuid.uuid4()
        setup = Setup(f"{NEW},{OLD}", manifest_wrapped_by(OLD, snapshot, new_data_key()))
        asked = setup.request(snapshot).model_copy(update={"anchor": None})

        outcome = await setup.rewrapper.rewrap(asked)

        assert isinstance(outcome, KeysRewrapFailed)
        assert "no catalog record" in outcome.reason
        assert setup.store.writes == 0
