"""Master-key rotation in the catalog: KeysRewrapped puts the new encryption block into the
stored manifest, and `encryption_keys` counts completed encrypted snapshots per master key."""

from uuid import uuid4

from shared.events import Encryption, KeysRewrapped
from shared.queries import EncryptionKeys
from tests.support.snapshot_events import VOLUME, requested, stored

OLD = Encryption(key_id="k1", wrapped_key="b2xk")
NEW = Encryption(key_id="k2", wrapped_key="bmV3")


def stored_encrypted(sid, encryption):
    manifest = {"chunks": [], "encryption": encryption.model_dump()} if encryption else {}
    return stored(sid, uuid4(), 5).model_copy(update={"manifest": {"size": 0, **manifest}})


class TestRewraps:
    async def test_rewrapped_moves_the_stored_manifest_to_the_new_key(self, catalog):
        sid, plain = uuid4(), uuid4()
        await catalog.publish(
            requested(sid, server_id=uuid4(), t=0),
            stored_encrypted(sid, OLD),
            requested(plain, server_id=uuid4(), t=0),
            stored_encrypted(plain, None),
        )
        await catalog.wait_for(plain, lambda s: s["status"] == "completed")
        await catalog.wait_for(sid, lambda s: s["status"] == "completed")
        assert (await catalog.ask(EncryptionKeys()))["keys"] == {"k1": 1}

        await catalog.publish(
            KeysRewrapped(
                snapshot_id=sid,
                volume_id=VOLUME,
                manifest_key="prod/shop/x.manifest.json",
                previous_key_id="k1",
                encryption=NEW,
            )
        )
        snapshot = await catalog.wait_for(
            sid, lambda s: s["manifest"]["encryption"]["key_id"] == "k2"
        )

        assert snapshot["manifest"]["encryption"] == NEW.model_dump()
        assert snapshot["status"] == "completed"
        assert (await catalog.ask(EncryptionKeys()))["keys"] == {"k2": 1}
        assert "encryption" not in ((await catalog.snapshot(plain)) or {})["manifest"]
