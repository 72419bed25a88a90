"""The local-directory volume driver, on a real temporary directory."""

import errno
import hashlib
import os
import stat
from pathlib import Path
from uuid import uuid4

import pytest

from shared.volumes import (
    ArtifactMismatchError,
    LocalVolume,
    ObjectMissingError,
    StagedChunk,
    UploadGoneError,
    UploadTarget,
    VolumeAccessDeniedError,
    VolumeError,
    VolumeFullError,
    VolumeMissingError,
)
from shared.volumes import local as local_module
from shared.volumes._directory import DIRECTORY_MODE

KEY = "srv/db/20261125T030000Z_x.sql.gz"


def staged(folder: Path, seq: int, data: bytes) -> StagedChunk:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{seq:06d}.chunk"
    path.write_bytes(data)
    return StagedChunk(seq, len(data), hashlib.sha256(data).hexdigest(), path=path)


def in_memory(seq: int, data: bytes) -> StagedChunk:
    return StagedChunk(seq, len(data), hashlib.sha256(data).hexdigest(), data=data)


@pytest.fixture
def volume(tmp_path: Path) -> LocalVolume:
    root = tmp_path / "volume"
    root.mkdir()
    return LocalVolume(root)


async def begin(volume: LocalVolume) -> UploadTarget:
    return await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)


class TestStorePart:
    async def test_staged_file_on_the_same_filesystem_is_renamed_not_copied(self, volume, tmp_path):
        target = await begin(volume)
        chunk = staged(tmp_path / "staging", 0, os.urandom(1000))
        inode = chunk.path.stat().st_ino

        await volume.store_part(target, chunk)

        part = volume.part_path(target, 0)
        assert not chunk.path.exists()
        assert part.stat().st_ino == inode
        assert (
            part
            == volume.root
            / ".parts"
            / str(target.snapshot_id)
            / str(target.attempt_id)
            / "000000.part"
        )

    async def test_staged_file_on_another_filesystem_is_copied(self, volume, tmp_path, monkeypatch):
        monkeypatch.setattr(local_module, "_same_filesystem", lambda _source, _folder: False)
        target = await begin(volume)
        data = os.urandom(3000)
        chunk = staged(tmp_path / "staging", 2, data)

        await volume.store_part(target, chunk)

        assert chunk.path.read_bytes() == data  # the staged copy is left for the uploader
        assert volume.part_path(target, 2).read_bytes() == data
        assert volume.part_path(target, 2).stat().st_ino != chunk.path.stat().st_ino

    async def test_bytes_in_memory_are_written_as_the_part(self, volume):
        target = await begin(volume)
        await volume.store_part(target, in_memory(1, b"abc"))
        assert volume.part_path(target, 1).read_bytes() == b"abc"

    async def test_storing_into_an_aborted_upload_is_refused(self, volume):
        target = await begin(volume)
        await volume.abort(target)
        with pytest.raises(UploadGoneError):
            await volume.store_part(target, in_memory(0, b"late"))
        assert not volume.parts_dir(target).exists()

    async def test_find_part_accepts_only_a_part_with_the_same_checksum(self, volume):
        target = await begin(volume)
        chunk = in_memory(0, b"payload")
        await volume.store_part(target, chunk)
        assert (await volume.find_part(target, 0, chunk.sha256)) is not None
        assert await volume.find_part(target, 0, "0" * 64) is None
        assert await volume.find_part(target, 1, chunk.sha256) is None


class TestFinalise:
    async def store_all(self, volume, target, blobs):
        for seq in reversed(range(len(blobs))):  # any order
            await volume.store_part(target, in_memory(seq, blobs[seq]))
        return [
            local_module.StoredPart(i, len(b), hashlib.sha256(b).hexdigest())
            for i, b in enumerate(blobs)
        ]

    async def test_parts_are_concatenated_in_order_and_removed(self, volume):
        target = await begin(volume)
        blobs = [os.urandom(5000), os.urandom(10), os.urandom(7000)]
        parts = await self.store_all(volume, target, blobs)
        whole = b"".join(blobs)

        await volume.finalise(
            target, parts, size=len(whole), sha256=hashlib.sha256(whole).hexdigest()
        )

        assert volume.path_of(KEY).read_bytes() == whole
        assert not (volume.root / ".parts").exists()
        assert [p.name for p in volume.path_of(KEY).parent.iterdir()] == [Path(KEY).name]

    async def test_final_name_appears_only_after_the_artifact_is_verified(
        self, volume, monkeypatch
    ):
        target = await begin(volume)
        blobs = [b"one", b"two"]
        parts = await self.store_all(volume, target, blobs)
        whole = b"".join(blobs)
        seen = {}
        original = local_module._verify

        def spy(path, key, size, sha256):
            seen["final_exists"] = volume.path_of(KEY).exists()
            seen["temp_complete"] = path.read_bytes() == whole
            original(path, key, size, sha256)

        monkeypatch.setattr(local_module, "_verify", spy)
        await volume.finalise(
            target, parts, size=len(whole), sha256=hashlib.sha256(whole).hexdigest()
        )
        assert seen == {"final_exists": False, "temp_complete": True}

    async def test_checksum_mismatch_is_refused_and_leaves_no_file(self, volume):
        target = await begin(volume)
        parts = await self.store_all(volume, target, [b"aaa", b"bbb"])

        with pytest.raises(ArtifactMismatchError, match="sha256"):
            await volume.finalise(target, parts, size=6, sha256="0" * 64)

        assert list(volume.path_of(KEY).parent.iterdir()) == []

    async def test_size_mismatch_is_refused(self, volume):
        target = await begin(volume)
        parts = await self.store_all(volume, target, [b"aaa", b"bbb"])
        with pytest.raises(ArtifactMismatchError, match="6 bytes, but the dump reported 7"):
            await volume.finalise(target, parts, size=7, sha256="0" * 64)
        assert not volume.path_of(KEY).exists()

    async def test_repeating_a_finished_finalise_is_accepted(self, volume):
        target = await begin(volume)
        parts = await self.store_all(volume, target, [b"x", b"y"])
        sha = hashlib.sha256(b"xy").hexdigest()
        await volume.finalise(target, parts, size=2, sha256=sha)
        await volume.finalise(target, parts, size=2, sha256=sha)
        assert volume.path_of(KEY).read_bytes() == b"xy"

    async def test_finalising_without_parts_or_artifact_is_refused(self, volume):
        target = await begin(volume)
        await volume.abort(target)
        with pytest.raises(UploadGoneError):
            await volume.finalise(target, [], size=0, sha256=hashlib.sha256().hexdigest())


class TestAbort:
    async def test_abort_removes_the_attempts_parts_only(self, volume):
        target = await begin(volume)
        other = await volume.begin(snapshot_id=target.snapshot_id, attempt_id=uuid4(), key=KEY)
        await volume.store_part(target, in_memory(0, b"a"))
        await volume.store_part(other, in_memory(0, b"b"))

        await volume.abort(target)
        await volume.abort(target)  # safe to repeat

        assert not volume.parts_dir(target).exists()
        assert volume.part_path(other, 0).read_bytes() == b"b"


class TestObjects:
    async def test_write_read_stream_exists_delete(self, volume):
        await volume.write("a/b.manifest.json", b'{"format": 1}')
        assert await volume.exists("a/b.manifest.json")
        assert await volume.read("a/b.manifest.json") == b'{"format": 1}'
        assert b"".join([b async for b in volume.open_stream("a/b.manifest.json")]) == (
            b'{"format": 1}'
        )
        await volume.delete("a/b.manifest.json")
        await volume.delete("a/b.manifest.json")
        assert not await volume.exists("a/b.manifest.json")
        with pytest.raises(ObjectMissingError):
            await volume.read("a/b.manifest.json")

    @pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", ""])
    async def test_keys_never_leave_the_root(self, volume, key):
        with pytest.raises(VolumeError, match="invalid key"):
            await volume.write(key, b"x")

    async def test_usage_reports_the_filesystems_free_space(self, volume):
        usage = await volume.usage()
        stats = os.statvfs(volume.root)
        assert usage.total_bytes == stats.f_blocks * stats.f_frsize
        assert 0 < usage.free_bytes <= usage.total_bytes


class TestItsDirectory:
    """The uploader makes a missing volume directory on first use, but only the last one."""

    async def test_a_first_backup_makes_the_missing_directory_with_mode_0750(self, tmp_path):
        volume = LocalVolume(tmp_path / "new-dir")
        old_umask = os.umask(0o077)  # the documented mode, whatever the process's umask
        try:
            await begin(volume)
        finally:
            os.umask(old_umask)
        assert volume.root.is_dir()
        assert stat.S_IMODE(volume.root.stat().st_mode) == DIRECTORY_MODE == 0o750
        assert volume.root.stat().st_uid == os.getuid()

    async def test_prepare_says_it_made_the_directory_then_that_it_exists(self, tmp_path):
        volume = LocalVolume(tmp_path / "new-dir")
        assert await volume.prepare() == (
            f"created {volume.root} (mode 750, owner uid {os.getuid()})"
        )
        assert await volume.prepare() == f"{volume.root} exists"

    async def test_a_write_makes_the_directory_too(self, tmp_path):
        volume = LocalVolume(tmp_path / "new-dir")
        await volume.write("a.json", b"{}")
        assert (volume.root / "a.json").read_bytes() == b"{}"

    async def test_a_missing_parent_is_named_and_nothing_is_made(self, tmp_path):
        volume = LocalVolume(tmp_path / "unmounted" / "backups")
        with pytest.raises(VolumeMissingError) as caught:
            await begin(volume)
        parent = tmp_path / "unmounted"
        assert str(caught.value).startswith(
            f"volume directory {volume.root} does not exist, nor its parent {parent}"
        )
        assert not (tmp_path / "unmounted").exists()

    async def test_a_parent_that_is_a_file_is_named(self, tmp_path):
        (tmp_path / "a-file").write_text("not a directory")
        volume = LocalVolume(tmp_path / "a-file" / "volume")
        with pytest.raises(VolumeMissingError, match=r"cannot be made: Not a directory"):
            await volume.prepare()

    async def test_reading_never_makes_the_directory(self, tmp_path):
        volume = LocalVolume(tmp_path / "new-dir")
        with pytest.raises(VolumeError):
            await volume.usage()
        assert not await volume.exists("a.json")
        assert not volume.root.exists()


class TestErrors:
    def test_no_space_reads_volume_is_full(self, volume):
        error = volume._explain(OSError(errno.ENOSPC, "No space left on device", "/x/y"))
        assert isinstance(error, VolumeFullError)
        assert str(error) == f"volume is full: no space left on {volume.root}"

    def test_permission_denied_names_the_path(self, volume):
        error = volume._explain(OSError(errno.EACCES, "Permission denied", "/x/y"))
        assert isinstance(error, VolumeAccessDeniedError)
        assert str(error) == "permission denied writing /x/y"
