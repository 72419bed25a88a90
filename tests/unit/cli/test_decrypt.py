"""`databasement decrypt` and `keys generate` offline: real files, the real command process."""

import gzip
import hashlib
import json
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shared.encryption import ChunkSealer, generate_master_key, new_data_key, parse_keyring
from shared.encryption import wrap_data_key as wrap
from tests.unit.shared.test_frame_versions import seal_v1

CLI = Path(sys.executable).with_name("databasement")
TEXT = b"".join(b"INSERT INTO t VALUES (%d, 'row value %d');\n" % (i, i) for i in range(20_000))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, check=False, timeout=60)


def encrypted_backup(folder: Path, keys: str, *, version: int = 2) -> Path:
    """An artifact and its manifest as dumper and uploader store them (3 sealed chunks), in
    the frame format of `version` (1: as written before the final-frame mark)."""
    snapshot = uuid.uuid4()
    data_key = new_data_key()
    sealer = ChunkSealer(data_key, snapshot)
    third = len(TEXT) // 3
    pieces = [TEXT[:third], TEXT[third : 2 * third], TEXT[2 * third :]]
    frames = [
        sealer.seal(seq, gzip.compress(p), final=seq == 2)
        if version == 2
        else seal_v1(data_key, seq, gzip.compress(p), snapshot)
        for seq, p in enumerate(pieces)
    ]
    artifact = folder / f"20261125T030000Z_{snapshot}.sql.gz.enc"
    artifact.write_bytes(b"".join(frames))
    offsets = [sum(len(f) for f in frames[:i]) for i in range(len(frames))]
    manifest = {
        "snapshot_id": str(snapshot),
        "compression": "gzip",
        "size": artifact.stat().st_size,
        "chunks": [
            {"seq": i, "offset": o, "size": len(f), "sha256": hashlib.sha256(f).hexdigest()}
            for i, (o, f) in enumerate(zip(offsets, frames, strict=True))
        ],
        "encryption": {
            "algorithm": "AES-256-GCM",
            "key_id": "k1",
            "wrapped_key": wrap(data_key, parse_keyring(keys).active, snapshot),
        },
    }
    (folder / f"20261125T030000Z_{snapshot}.manifest.json").write_text(json.dumps(manifest))
    return artifact


@pytest.fixture
def keys() -> str:
    return generate_master_key("k1")


@pytest.fixture
def key_file(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "master.key"
    path.write_text(f"{generate_master_key('k2')},{keys}\n")
    return path


class TestDecrypt:
    def test_writes_the_plain_gz_beside_the_file(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)

        done = run("decrypt", artifact.name, "--key-file", str(key_file), cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        plain = artifact.with_name(artifact.name.removesuffix(".enc"))
        assert gzip.decompress(plain.read_bytes()) == TEXT
        assert not list(tmp_path.glob(".*partial"))

    def test_dash_writes_to_stdout(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)

        done = run("decrypt", str(artifact), "--key-file", str(key_file), "-o", "-", cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        assert gzip.decompress(done.stdout) == TEXT

    def test_stdout_on_a_terminal_is_refused(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)
        leader, follower = pty.openpty()
        try:
            done = subprocess.run(
                [str(CLI), "decrypt", str(artifact), "--key-file", str(key_file), "-o", "-"],
                stdout=follower,
                stderr=subprocess.PIPE,
                check=False,
                timeout=60,
            )
        finally:
            os.close(follower)
            os.close(leader)

        assert done.returncode != 0
        assert b"refusing to write the compressed dump to a terminal" in done.stderr

    def test_a_wrong_key_exits_non_zero_with_the_sentence_and_writes_nothing(self, tmp_path, keys):
        artifact = encrypted_backup(tmp_path, keys)
        wrong = tmp_path / "wrong.key"
        wrong.write_text(generate_master_key("k1"))

        done = run("decrypt", str(artifact), "--key-file", str(wrong), "-o", "-", cwd=tmp_path)

        assert done.returncode != 0
        assert done.stdout == b""
        assert done.stderr.decode().startswith("databasement: cannot decrypt: wrong key")
        assert b"Traceback" not in done.stderr

    def test_a_tampered_chunk_is_named_and_no_output_file_is_left(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)
        manifest = json.loads(next(tmp_path.glob("*.manifest.json")).read_text())
        data = bytearray(artifact.read_bytes())
        data[manifest["chunks"][2]["offset"] + 40] ^= 1
        artifact.write_bytes(bytes(data))

        done = run("decrypt", str(artifact), "--key-file", str(key_file), cwd=tmp_path)

        assert done.returncode != 0
        assert "cannot decrypt: chunk 2 is corrupt" in done.stderr.decode()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [artifact.name, "master.key", next(tmp_path.glob("*.manifest.json")).name]
        )

    def test_a_missing_last_chunk_is_caught_by_the_manifest(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)
        manifest = json.loads(next(tmp_path.glob("*.manifest.json")).read_text())
        artifact.write_bytes(artifact.read_bytes()[: manifest["chunks"][2]["offset"]])

        done = run("decrypt", str(artifact), "--key-file", str(key_file), "-o", "-", cwd=tmp_path)

        assert done.returncode != 0
        assert "cannot decrypt: chunk 2 is corrupt" in done.stderr.decode()

    def test_dropped_frames_are_caught_even_with_the_manifest_trimmed(
        self, tmp_path, key_file, keys
    ):
        """Frame version 2: the final mark is missing, whatever the manifest lists."""
        artifact = encrypted_backup(tmp_path, keys)
        manifest_path = next(tmp_path.glob("*.manifest.json"))
        manifest = json.loads(manifest_path.read_text())
        artifact.write_bytes(artifact.read_bytes()[: manifest["chunks"][2]["offset"]])
        manifest["chunks"] = manifest["chunks"][:2]
        manifest_path.write_text(json.dumps(manifest))

        done = run("decrypt", str(artifact), "--key-file", str(key_file), "-o", "-", cwd=tmp_path)

        assert done.returncode != 0
        assert "its final frame is missing" in done.stderr.decode()

    def test_a_version_1_artifact_still_decrypts(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys, version=1)

        done = run("decrypt", str(artifact), "--key-file", str(key_file), "-o", "-", cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        assert gzip.decompress(done.stdout) == TEXT

    def test_more_chunks_than_the_manifest_lists_is_refused(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)
        manifest_path = next(tmp_path.glob("*.manifest.json"))
        manifest = json.loads(manifest_path.read_text())
        manifest["chunks"] = manifest["chunks"][:2]
        manifest_path.write_text(json.dumps(manifest))

        done = run("decrypt", str(artifact), "--key-file", str(key_file), "-o", "-", cwd=tmp_path)

        assert done.returncode != 0
        assert "holds 3 chunks; its manifest lists 2" in done.stderr.decode()

    def test_no_manifest_says_where_it_looked(self, tmp_path, key_file, keys):
        artifact = encrypted_backup(tmp_path, keys)
        next(tmp_path.glob("*.manifest.json")).unlink()

        done = run("decrypt", str(artifact), "--key-file", str(key_file), cwd=tmp_path)

        assert done.returncode != 0
        assert "no manifest at" in done.stderr.decode()
        assert "--manifest" in done.stderr.decode()


class TestKeysGenerate:
    def test_prints_one_keyring_entry_that_parses(self, tmp_path):
        done = run("keys", "generate", "--id", "prod-2026", cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        keyring = parse_keyring(done.stdout.decode())
        assert keyring.active.key_id == "prod-2026"
        assert len(keyring.active.secret) == 32
