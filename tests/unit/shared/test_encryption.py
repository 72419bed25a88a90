"""Encryption at rest: keyring parsing, data-key wrapping, sealed frames and their errors."""

import base64
import os
import uuid

import pytest

from shared.encryption import (
    ChunkOpener,
    ChunkSealer,
    CorruptChunkError,
    FrameReader,
    KeyringError,
    WrongKeyError,
    generate_master_key,
    new_data_key,
    parse_keyring,
    rewrap_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from shared.encryption.frames import HEADER


def entry(key_id: str) -> str:
    return generate_master_key(key_id)


class TestParseKeyring:
    def test_the_first_key_is_active_and_all_are_listed(self):
        keyring = parse_keyring(f"{entry('new')},{entry('old')}")

        assert keyring.active.key_id == "new"
        assert keyring.key_ids == ["new", "old"]

    def test_accepts_newlines_comments_and_blanks(self):
        keyring = parse_keyring(f"# rotated 2026-11\n{entry('k2')}\n\n{entry('k1')}\n")

        assert keyring.key_ids == ["k2", "k1"]

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("", "holds no master key"),
            ("k1", "entry 1 is not id:base64key"),
            ("k1:not base64!", "key 'k1' is not valid base64"),
            (f"k1:{base64.b64encode(b'short').decode()}", "is 5 bytes; a master key is 32"),
            (f"{entry('k1')},{entry('k1')}", "listed twice"),
        ],
        ids=["empty", "no-colon", "not-base64", "short", "twice"],  # keys are random: fixed ids
    )
    def test_a_bad_keyring_is_refused_in_a_sentence(self, text, fragment):
        with pytest.raises(KeyringError, match=fragment):
            parse_keyring(text, source="DUMPER_MASTER_KEYS")

    def test_an_error_never_shows_a_key(self):
        secret = base64.b64encode(os.urandom(31)).decode()

        with pytest.raises(KeyringError) as caught:
            parse_keyring(f"k1:{secret}")

        assert secret not in str(caught.value)

    def test_repr_hides_the_secret(self):
        keyring = parse_keyring(entry("k1"))

        assert "secret" not in repr(keyring.active)
        assert keyring.active.secret.hex() not in repr(keyring)


class TestWrapping:
    def test_unwrap_returns_the_data_key(self):
        keyring = parse_keyring(entry("k1"))
        snapshot = uuid.uuid4()
        data_key = new_data_key()

        wrapped = wrap_data_key(data_key, keyring.active, snapshot)

        assert unwrap_data_key(wrapped, keyring, snapshot, key_id="k1") == data_key
        assert len(data_key) == 32

    def test_a_key_listed_under_another_id_still_unwraps(self):
        old = entry("k1")
        keyring = parse_keyring(old)
        snapshot = uuid.uuid4()
        wrapped = wrap_data_key(new_data_key(), keyring.active, snapshot)
        renamed = parse_keyring(f"{entry('k2')},renamed:{old.split(':', 1)[1]}")

        assert len(unwrap_data_key(wrapped, renamed, snapshot, key_id="k1")) == 32

    def test_a_wrong_master_key_says_wrong_key(self):
        snapshot = uuid.uuid4()
        wrapped = wrap_data_key(new_data_key(), parse_keyring(entry("k1")).active, snapshot)

        with pytest.raises(WrongKeyError, match=r"^cannot decrypt: wrong key"):
            unwrap_data_key(wrapped, parse_keyring(entry("k1")), snapshot, key_id="k1")

    def test_a_tampered_wrapped_key_says_wrong_key(self):
        keyring = parse_keyring(entry("k1"))
        snapshot = uuid.uuid4()
        raw = bytearray(base64.b64decode(wrap_data_key(new_data_key(), keyring.active, snapshot)))
        raw[20] ^= 1

        with pytest.raises(WrongKeyError, match="cannot decrypt: wrong key"):
            unwrap_data_key(base64.b64encode(raw).decode(), keyring, snapshot, key_id="k1")

    def test_a_wrapped_key_moved_to_another_snapshot_does_not_open(self):
        keyring = parse_keyring(entry("k1"))
        wrapped = wrap_data_key(new_data_key(), keyring.active, uuid.uuid4())

        with pytest.raises(WrongKeyError):
            unwrap_data_key(wrapped, keyring, uuid.uuid4(), key_id="k1")

    def test_rewrap_moves_the_same_data_key_to_the_active_key(self):
        old = parse_keyring(entry("k1"))
        snapshot = uuid.uuid4()
        data_key = new_data_key()
        wrapped = wrap_data_key(data_key, old.active, snapshot)
        new_entry = entry("k2")
        rotating = parse_keyring(f"{new_entry},k1:{base64.b64encode(old.active.secret).decode()}")

        key_id, rewrapped = rewrap_data_key(wrapped, rotating, snapshot, key_id="k1")

        assert key_id == "k2"
        assert unwrap_data_key(rewrapped, parse_keyring(new_entry), snapshot, key_id="k2") == (
            data_key
        )


class TestFrames:
    snapshot = uuid.UUID("5f1d2c3b-1e2f-4a5b-8c9d-0e1f2a3b4c5d")

    def sealed(self, data_key: bytes, chunks: list[bytes]) -> bytes:
        sealer = ChunkSealer(data_key, self.snapshot)
        last = len(chunks) - 1
        return b"".join(
            sealer.seal(seq, chunk, final=seq == last) for seq, chunk in enumerate(chunks)
        )

    def test_frames_open_back_in_order_whatever_the_pieces(self):
        data_key = new_data_key()
        chunks = [os.urandom(1000), b"", os.urandom(70_000)]
        artifact = self.sealed(data_key, chunks)
        reader = FrameReader(ChunkOpener(data_key, self.snapshot))

        opened = []
        for start in range(0, len(artifact), 777):
            opened += reader.push(artifact[start : start + 777])
        reader.finish()

        assert opened == chunks

    def test_plaintext_does_not_appear_in_the_frame(self):
        frame = ChunkSealer(new_data_key(), self.snapshot).seal(
            0, b"secret row value " * 10, final=True
        )

        assert b"secret row value" not in frame
        assert frame.startswith(b"DBME\x02\x01")

    def test_a_flipped_byte_names_its_chunk(self):
        data_key = new_data_key()
        artifact = bytearray(self.sealed(data_key, [b"a" * 100, b"b" * 100, b"c" * 100]))
        frame = HEADER.size + 100 + 16
        artifact[frame + HEADER.size + 5] ^= 1

        reader = FrameReader(ChunkOpener(data_key, self.snapshot))
        with pytest.raises(CorruptChunkError, match=r"^cannot decrypt: chunk 1 is corrupt"):
            reader.push(bytes(artifact))

    def test_swapped_frames_do_not_open(self):
        data_key = new_data_key()
        sealer = ChunkSealer(data_key, self.snapshot)
        first, second = sealer.seal(0, b"first", final=False), sealer.seal(1, b"second", final=True)

        reader = FrameReader(ChunkOpener(data_key, self.snapshot))
        with pytest.raises(CorruptChunkError, match="chunk 0 is corrupt"):
            reader.push(second + first)

    def test_a_frame_of_another_snapshot_does_not_open(self):
        data_key = new_data_key()
        frame = ChunkSealer(data_key, uuid.uuid4()).seal(0, b"elsewhere", final=True)

        with pytest.raises(CorruptChunkError, match="chunk 0 is corrupt"):
            ChunkOpener(data_key, self.snapshot).open(0, frame)

    def test_a_cut_artifact_is_corrupt_at_the_cut_chunk(self):
        data_key = new_data_key()
        artifact = self.sealed(data_key, [b"a" * 100, b"b" * 100])
        reader = FrameReader(ChunkOpener(data_key, self.snapshot))

        assert reader.push(artifact[:-10]) == [b"a" * 100]
        with pytest.raises(CorruptChunkError, match="chunk 1 is corrupt"):
            reader.finish()

    def test_garbage_is_no_frame(self):
        reader = FrameReader(ChunkOpener(new_data_key(), self.snapshot))

        with pytest.raises(CorruptChunkError, match="chunk 0 is corrupt"):
            reader.push(b"\x1f\x8b" + os.urandom(100))

    def test_open_wants_exactly_one_frame(self):
        data_key = new_data_key()
        frame = ChunkSealer(data_key, self.snapshot).seal(3, b"x" * 50, final=True)

        with pytest.raises(CorruptChunkError, match="chunk 3 is corrupt"):
            ChunkOpener(data_key, self.snapshot).open(3, frame + b"extra")
        assert ChunkOpener(data_key, self.snapshot).open(3, frame) == b"x" * 50
