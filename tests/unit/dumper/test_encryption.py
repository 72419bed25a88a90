"""Encryption at rest in the dumper: sealed chunks staged, the wrapped key reported, and the
restore side's decrypter (a wrong key refused before any target is touched)."""

import gzip
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from services.dumper.artifact import ArtifactError, decrypter_for, parse_manifest
from services.dumper.settings import DumperSettings
from services.dumper.streaming import InflatedArtifact
from shared.encryption import (
    ChunkOpener,
    FrameReader,
    generate_master_key,
    parse_keyring,
    unwrap_data_key,
)
from shared.events import ChunkStaged, DumpFailed, DumpFinished, Event
from shared.settings import StagingSettings
from tests.unit.dumper.test_dumping import WRITE_6_MIB, FakeGateway, Harness
from tests.unit.dumper.test_restoring import (
    FakeTargets,
    anchored,
    postgres_restore,
    restorer_of,
)
from tests.unit.dumper.test_streaming import blocks, dump_text

MIB = 1024 * 1024
KEYS = generate_master_key("k1")


def encrypted_harness(tmp_path: Path, keys: str | None) -> Harness:
    harness = Harness(tmp_path, FakeGateway(WRITE_6_MIB))
    settings = DumperSettings(
        staging=StagingSettings(path=tmp_path / "staging"),
        block_size=512 * 1024,
        min_part_size=5 * MIB,
        max_staged_chunks=100,
        master_keys=SecretStr(keys) if keys else None,
    )
    harness.dumper = type(harness.dumper)(
        settings=settings,
        sealer=harness.sealer,
        staging=harness.staging,
        gateway=harness.dumper._gateway,
        launch=harness.dumper._launch,
        publish=harness.dumper._publish,
    )
    return harness


class TestSettings:
    def test_a_malformed_keyring_is_refused_naming_the_setting(self):
        with pytest.raises(ValidationError, match="DUMPER_MASTER_KEYS: entry 1"):
            DumperSettings(master_keys=SecretStr("no-colon-here"))

    def test_no_key_means_no_keyring(self):
        assert DumperSettings().keyring() is None


class TestEncryptedDump:
    async def test_chunks_are_sealed_and_the_wrapped_key_reported(self, tmp_path):
        harness = encrypted_harness(tmp_path, KEYS)
        asked = harness.request().model_copy(update={"encrypted": True})

        outcome = await harness.dumper.dump(asked, attempt=1)

        assert isinstance(outcome, DumpFinished), outcome
        assert outcome.encryption is not None
        assert outcome.encryption.key_id == "k1"
        keyring = parse_keyring(KEYS)
        data_key = unwrap_data_key(
            outcome.encryption.wrapped_key, keyring, asked.snapshot_id, key_id="k1"
        )
        reader = FrameReader(ChunkOpener(data_key, asked.snapshot_id))
        staged = harness.of(ChunkStaged)
        compressed = []
        whole = hashlib.sha256()
        for event in staged:
            data = await harness.staging.get(event.staged_key)
            assert data.startswith(b"DBME")
            assert hashlib.sha256(data).hexdigest() == event.sha256
            assert len(data) == event.size
            whole.update(data)
            compressed += reader.push(data)
        reader.finish()
        assert whole.hexdigest() == outcome.sha256
        assert len(gzip.decompress(b"".join(compressed))) == 96 * 65536

    async def test_without_a_master_key_it_fails_naming_the_setting(self, tmp_path):
        harness = encrypted_harness(tmp_path, None)
        asked = harness.request().model_copy(update={"encrypted": True})

        outcome = await harness.dumper.dump(asked, attempt=1)

        assert isinstance(outcome, DumpFailed)
        assert "DUMPER_MASTER_KEYS" in outcome.reason
        assert harness.processes == []

    async def test_a_plain_request_stays_plain_with_a_key_set(self, tmp_path):
        harness = encrypted_harness(tmp_path, KEYS)

        outcome = await harness.dumper.dump(harness.request(), attempt=1)

        assert isinstance(outcome, DumpFinished)
        assert outcome.encryption is None


def sealed_artifact(snapshot_id: uuid.UUID, text: bytes) -> tuple[bytes, dict[str, Any]]:
    """An encrypted artifact of two chunks and its manifest, the way dumper + uploader make it."""
    from shared.encryption import ChunkSealer, new_data_key, wrap_data_key

    keyring = parse_keyring(KEYS)
    data_key = new_data_key()
    sealer = ChunkSealer(data_key, snapshot_id)
    half = len(text) // 2
    frames = [
        sealer.seal(0, gzip.compress(text[:half]), final=False),
        sealer.seal(1, gzip.compress(text[half:]), final=True),
    ]
    chunks, offset = [], 0
    for seq, frame in enumerate(frames):
        chunks.append(
            {
                "seq": seq,
                "offset": offset,
                "size": len(frame),
                "sha256": hashlib.sha256(frame).hexdigest(),
            }
        )
        offset += len(frame)
    manifest = {
        "compression": "gzip",
        "size": offset,
        "sha256": hashlib.sha256(b"".join(frames)).hexdigest(),
        "chunks": chunks,
        "encryption": {
            "algorithm": "AES-256-GCM",
            "key_id": "k1",
            "wrapped_key": wrap_data_key(data_key, keyring.active, snapshot_id),
        },
    }
    return b"".join(frames), manifest


class TestEncryptedRestoreStream:
    async def test_sealed_chunks_inflate_back_to_the_dump(self):
        snapshot = uuid.uuid4()
        text = dump_text(300_000)
        artifact, body = sealed_artifact(snapshot, text)
        manifest = parse_manifest(json.dumps(body).encode(), "m")

        decrypt = decrypter_for(manifest, parse_keyring(KEYS), snapshot)
        pieces = []
        async with InflatedArtifact(blocks(artifact), manifest, decrypt=decrypt) as stream:
            while (piece := await stream.next_piece()) is not None:
                pieces.append(piece)

        assert b"".join(pieces) == text

    def test_a_wrong_key_is_refused_before_reading(self):
        snapshot = uuid.uuid4()
        _artifact, body = sealed_artifact(snapshot, b"x")
        manifest = parse_manifest(json.dumps(body).encode(), "m")

        with pytest.raises(ArtifactError, match=r"^cannot decrypt: wrong key"):
            decrypter_for(manifest, parse_keyring(generate_master_key("k1")), snapshot)

    async def test_a_wrong_key_restore_fails_before_any_target_is_touched(self):
        asked = postgres_restore()
        _artifact, manifest = sealed_artifact(asked.snapshot_id, b"x")
        published: list[Event] = []
        targets = FakeTargets("psql (PostgreSQL) 16.4")
        restorer = restorer_of(
            manifest, targets, published, keyring=parse_keyring(generate_master_key("other"))
        )

        outcome = await restorer.restore(anchored(asked, manifest))

        assert outcome.reason.startswith("cannot decrypt: wrong key")  # type: ignore[union-attr]
        assert targets.touched == []
        assert published == [outcome]


class TestFinalFrame:
    def test_a_last_listed_chunk_without_the_final_mark_is_refused(self):
        """A manifest listing fewer chunks than were sealed (trailing frames dropped)."""
        snapshot = uuid.uuid4()
        _artifact, body = sealed_artifact(snapshot, dump_text(10_000))
        body["chunks"] = body["chunks"][:1]
        body["size"] = body["chunks"][0]["size"]
        manifest = parse_manifest(json.dumps(body).encode(), "m")
        decrypt = decrypter_for(manifest, parse_keyring(KEYS), snapshot)
        assert decrypt is not None

        with pytest.raises(ArtifactError, match=r"chunk 0 is corrupt.*last frame is missing"):
            decrypt(manifest.chunks[0], _artifact[: manifest.chunks[0].size])
