"""Which stored copies of a snapshot a master-key rotation asks the dumper to re-wrap."""

from services.api.usecases.encryption import stored_copies

PATH = "pg/shop/20261125T030000Z_5f1d2c3b.sql.gz.enc"
MANIFEST = "pg/shop/20261125T030000Z_5f1d2c3b.manifest.json"


class TestStoredCopies:
    def test_an_encrypted_snapshot_on_its_primary_volume(self):
        assert stored_copies({"volume_id": "v1", "path": PATH}) == {"v1": MANIFEST}

    def test_a_plain_snapshot_has_nothing_to_rewrap(self):
        assert stored_copies({"volume_id": "v1", "path": "pg/shop/x.sql.gz"}) == {}

    def test_every_stored_copy_once_and_no_failed_one(self):
        snapshot = {
            "volume_id": "v1",
            "path": PATH,
            "copies": [
                {"volume_id": "v1", "status": "stored", "path": PATH},
                {"volume_id": "v2", "status": "stored", "path": PATH, "manifest_path": "m2"},
                {"volume_id": "v3", "status": "failed", "path": None},
            ],
        }

        assert stored_copies(snapshot) == {"v1": MANIFEST, "v2": "m2"}
