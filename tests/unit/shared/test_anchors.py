"""The catalog as trust anchor: the volume's manifest must be the one the catalog recorded,
whatever else was recomputed to look consistent."""

import copy
import hashlib
from typing import Any

import pytest

from shared.anchors import AnchorError, anchor_of, manifest_digest, mismatch

SHA = hashlib.sha256(b"artifact").hexdigest()


def manifest(*, encrypted: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format": 1,
        "snapshot_id": "5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d",
        "artifact": "prod/shop/x.sql.gz",
        "created_at": "2026-11-25T03:00:01+00:00",
        "compression": "gzip",
        "size": 30,
        "raw_size": 300,
        "sha256": SHA,
        "tool": "pg_dump",
        "tool_version": "pg_dump (PostgreSQL) 16.4",
        "table_rows": {"public.t": 3},
        "chunks": [
            {"seq": 0, "offset": 0, "size": 10, "raw_size": 100, "sha256": "a" * 64},
            {"seq": 1, "offset": 10, "size": 20, "raw_size": 200, "sha256": "b" * 64},
        ],
    }
    if encrypted:
        body["artifact"] += ".enc"
        body["encryption"] = {"algorithm": "AES-256-GCM", "key_id": "k1", "wrapped_key": "w1"}
    return body


def recorded(body: dict[str, Any]) -> Any:
    return anchor_of(body, sha256=body["sha256"], size=body["size"])


class TestAnchorOf:
    def test_records_what_the_catalog_holds(self):
        anchor = recorded(manifest(encrypted=True))

        assert (anchor.sha256, anchor.size, anchor.encrypted, anchor.key_id) == (
            SHA,
            30,
            True,
            "k1",
        )

    @pytest.mark.parametrize(
        ("body", "sha256"), [(None, SHA), ({"chunks": []}, None), ({"no": "chunks"}, SHA)]
    )
    def test_a_snapshot_without_a_record_cannot_be_anchored(self, body, sha256):
        with pytest.raises(AnchorError):
            anchor_of(body, sha256=sha256, size=30)

    def test_the_digest_ignores_what_differs_between_copies_and_rewraps(self):
        body = manifest(encrypted=True)
        other_copy = copy.deepcopy(body)
        other_copy["artifact"] = "offsite/shop/x.sql.gz.enc"
        other_copy["created_at"] = "2026-11-25T03:00:09+00:00"
        other_copy["encryption"] = {"algorithm": "AES-256-GCM", "key_id": "k2", "wrapped_key": "w2"}

        assert manifest_digest(other_copy) == manifest_digest(body)

    def test_the_digest_does_not_depend_on_key_order(self):
        body = manifest()
        reordered = dict(reversed(body.items()))

        assert manifest_digest(reordered) == manifest_digest(body)


class TestMismatch:
    def test_the_recorded_manifest_matches(self):
        body = manifest(encrypted=True)

        assert mismatch(recorded(body), body, artifact_key=body["artifact"]) is None

    def test_a_rewritten_chunk_with_recomputed_totals_is_refused(self):
        """The attacker rewrites a chunk and recomputes the chunk's and the artifact's sha256:
        only the catalog still knows the real ones."""
        body = manifest()
        anchor = recorded(body)
        forged = copy.deepcopy(body)
        forged["chunks"][1]["sha256"] = "c" * 64
        forged["sha256"] = hashlib.sha256(b"forged").hexdigest()

        reason = mismatch(anchor, forged, artifact_key=body["artifact"])

        assert reason is not None
        assert reason.startswith("artifact does not match the catalog (sha256 ")

    def test_a_rewritten_chunk_keeping_the_artifact_sha256_is_refused(self):
        body = manifest()
        anchor = recorded(body)
        forged = copy.deepcopy(body)
        forged["chunks"][0]["sha256"] = "c" * 64

        reason = mismatch(anchor, forged, artifact_key=body["artifact"])

        assert reason == (
            "artifact does not match the catalog (sha256 of the chunk list "
            f"{manifest_digest(forged)[:16]}… on the volume, {anchor.manifest_digest[:16]}… "
            "recorded)"
        )

    @pytest.mark.parametrize(
        ("field", "value"),
        [("size", 31), ("table_rows", {"public.t": 0}), ("compression", "zstd")],
    )
    def test_any_lasting_field_changed_is_refused(self, field, value):
        body = manifest()
        anchor = recorded(body)
        forged = copy.deepcopy(body) | {field: value}

        assert mismatch(anchor, forged, artifact_key=body["artifact"]) is not None

    def test_a_dropped_trailing_chunk_is_refused(self):
        body = manifest()
        anchor = recorded(body)
        forged = copy.deepcopy(body)
        forged["chunks"] = forged["chunks"][:1]

        assert mismatch(anchor, forged, artifact_key=body["artifact"]) is not None

    def test_an_encryption_downgrade_is_refused(self):
        body = manifest(encrypted=True)
        anchor = recorded(body)
        plain = copy.deepcopy(body)
        del plain["encryption"]

        reason = mismatch(anchor, plain, artifact_key=body["artifact"])

        assert reason == (
            "artifact does not match the catalog (it was stored encrypted with master key "
            "'k1', but the manifest on the volume has no encryption block)"
        )

    def test_an_enc_artifact_without_an_encryption_block_is_refused(self):
        body = manifest()
        reason = mismatch(recorded(body), body, artifact_key="prod/shop/x.sql.gz.enc")

        assert reason is not None
        assert "an .enc artifact whose manifest has no encryption block" in reason

    def test_a_plain_snapshot_that_turned_encrypted_is_refused(self):
        body = manifest()
        sealed = copy.deepcopy(body)
        sealed["encryption"] = {"algorithm": "AES-256-GCM", "key_id": "k1", "wrapped_key": "w"}

        reason = mismatch(recorded(body), sealed, artifact_key=body["artifact"])

        assert reason is not None
        assert "stored plain" in reason

    def test_another_key_id_is_refused_unless_allowed(self):
        body = manifest(encrypted=True)
        anchor = recorded(body)
        rewrapped = copy.deepcopy(body)
        rewrapped["encryption"]["key_id"] = "k2"

        assert "names master key 'k2'" in str(mismatch(anchor, rewrapped, artifact_key="x.enc"))
        assert mismatch(anchor, rewrapped, artifact_key="x.enc", key_ids={"k1", "k2"}) is None

    @pytest.mark.parametrize("chunks", [None, "text", [1, 2]])
    def test_a_malformed_manifest_is_a_mismatch_not_a_crash(self, chunks):
        body = manifest()
        forged = copy.deepcopy(body) | {"chunks": chunks}

        reason = mismatch(recorded(body), forged, artifact_key=body["artifact"])

        assert reason is not None
        assert reason.startswith("artifact does not match the catalog")
