"""Frame format version 2: the last frame is marked FINAL under the tag, so an artifact whose
trailing frames were dropped is refused; version 1 artifacts (written before) still open."""

import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.encryption import ChunkOpener, ChunkSealer, CorruptChunkError, FrameReader, new_data_key
from shared.encryption.frames import HEADERS, MAGIC, TAG_BYTES, FrameSequence

SNAPSHOT = uuid.UUID("5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d")


def seal_v1(data_key: bytes, seq: int, data: bytes, snapshot: uuid.UUID = SNAPSHOT) -> bytes:
    """A frame as the dumper wrote it before version 2 (the format docs/encryption.md keeps)."""
    nonce = secrets.token_bytes(12)
    header = HEADERS[1].pack(MAGIC, 1, nonce, len(data) + TAG_BYTES)
    aad = b"databasement/chunk/v1:" + snapshot.bytes + seq.to_bytes(8, "big") + header
    return header + AESGCM(data_key).encrypt(nonce, data, aad)


def sealed_v2(data_key: bytes, chunks: list[bytes]) -> list[bytes]:
    sealer = ChunkSealer(data_key, SNAPSHOT)
    last = len(chunks) - 1
    return [sealer.seal(seq, chunk, final=seq == last) for seq, chunk in enumerate(chunks)]


def read_all(data_key: bytes, artifact: bytes) -> list[bytes]:
    reader = FrameReader(ChunkOpener(data_key, SNAPSHOT))
    opened = reader.push(artifact)
    reader.finish()
    return opened


class TestVersion2:
    def test_whole_artifact_opens_and_only_the_last_frame_is_final(self):
        data_key = new_data_key()
        frames = sealed_v2(data_key, [b"a" * 10, b"b" * 20, b"c" * 30])
        opener = ChunkOpener(data_key, SNAPSHOT)

        assert [opener.open_frame(i, f).final for i, f in enumerate(frames)] == [
            False,
            False,
            True,
        ]
        assert read_all(data_key, b"".join(frames)) == [b"a" * 10, b"b" * 20, b"c" * 30]

    def test_dropped_trailing_frames_are_refused(self):
        data_key = new_data_key()
        frames = sealed_v2(data_key, [b"a" * 10, b"b" * 20, b"c" * 30])

        with pytest.raises(CorruptChunkError, match="its final frame is missing"):
            read_all(data_key, b"".join(frames[:2]))

    def test_a_frame_after_the_final_one_is_refused(self):
        data_key = new_data_key()
        sealer = ChunkSealer(data_key, SNAPSHOT)
        artifact = sealer.seal(0, b"a", final=True) + sealer.seal(1, b"b", final=True)

        with pytest.raises(CorruptChunkError, match=r"chunk 1 is corrupt.*follows"):
            read_all(data_key, artifact)

    def test_the_final_flag_is_under_the_tag(self):
        data_key = new_data_key()
        frame = bytearray(sealed_v2(data_key, [b"a" * 10, b"b" * 10])[0])
        frame[5] |= 0x01  # claim this is the last frame, so the rest could be dropped

        with pytest.raises(CorruptChunkError, match="chunk 0 is corrupt"):
            ChunkOpener(data_key, SNAPSHOT).open(0, bytes(frame))

    def test_the_listed_count_must_end_on_the_final_frame(self):
        data_key = new_data_key()
        frames = sealed_v2(data_key, [b"a", b"b", b"c"])
        opener = ChunkOpener(data_key, SNAPSHOT)
        sequence = FrameSequence()
        sequence.add(0, opener.open_frame(0, frames[0]), last=False)

        with pytest.raises(CorruptChunkError, match=r"chunk 1 is corrupt.*cut after it"):
            sequence.add(1, opener.open_frame(1, frames[1]), last=True)


class TestVersion1:
    def test_a_version_1_artifact_still_opens(self):
        data_key = new_data_key()
        artifact = seal_v1(data_key, 0, b"old chunk") + seal_v1(data_key, 1, b"old tail")

        assert read_all(data_key, artifact) == [b"old chunk", b"old tail"]

    def test_mixed_versions_are_refused(self):
        data_key = new_data_key()
        first = seal_v1(data_key, 0, b"old")
        second = ChunkSealer(data_key, SNAPSHOT).seal(1, b"new", final=True)

        with pytest.raises(CorruptChunkError, match=r"chunk 1 is corrupt.*version differs"):
            read_all(data_key, first + second)

    def test_a_version_1_frame_cannot_pass_for_version_2(self):
        """Rewriting the version byte changes the header under the tag: it does not open."""
        data_key = new_data_key()
        frame = seal_v1(data_key, 0, b"old")
        forged = frame[:4] + b"\x02\x01" + frame[5:]

        with pytest.raises(CorruptChunkError, match="chunk 0 is corrupt"):
            ChunkOpener(data_key, SNAPSHOT).open(0, forged)
