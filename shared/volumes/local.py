"""A volume that is a directory: parts as files, the artifact assembled and renamed into place.

Parts live under `<root>/.parts/<snapshot_id>/<attempt_id>/<seq>.part`, on the same
filesystem as the artifact, so the final `os.replace` is atomic and nothing half-written
ever carries the final name.
"""

import asyncio
import errno
import hashlib
import os
import shutil
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar
from uuid import UUID, uuid4

from shared.logging import get_logger
from shared.volumes._base import (
    ArtifactMismatchError,
    ObjectMissingError,
    StagedChunk,
    StoredPart,
    UploadGoneError,
    UploadTarget,
    Usage,
    VolumeAccessDeniedError,
    VolumeError,
    VolumeFullError,
    VolumeMissingError,
)
from shared.volumes._directory import DIRECTORY_MODE, ensure_directory
from shared.volumes._temporaries import PARTS_DIR, TEMP_MARK, sweep_temporaries

BLOCK = 1024 * 1024
_FALLBACK_ERRNOS = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}
T = TypeVar("T")
log = get_logger(__name__)


class LocalVolume:
    """A directory on a filesystem the uploader can write."""

    place = "directory"

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    @property
    def location(self) -> str:
        return str(self.root)

    # -- paths -----------------------------------------------------------------------------

    def path_of(self, key: str) -> Path:
        """The file behind `key`; keys never leave the root."""
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in {"..", "."} for p in parts):
            raise VolumeError(f"invalid key {key!r}")
        return self.root.joinpath(*parts)

    def parts_dir(self, target: UploadTarget) -> Path:
        return self.root / PARTS_DIR / str(target.snapshot_id) / str(target.attempt_id)

    def part_path(self, target: UploadTarget, seq: int) -> Path:
        return self.parts_dir(target) / f"{seq:06d}.part"

    # -- the Volume protocol ---------------------------------------------------------------

    async def begin(self, *, snapshot_id: UUID, attempt_id: UUID, key: str) -> UploadTarget:
        target = UploadTarget(snapshot_id, attempt_id, key)
        self.path_of(key)  # refuse a bad key before anything is written

        def make_parts_dir() -> None:
            self._ensure_root()
            self.parts_dir(target).mkdir(parents=True, exist_ok=True)

        await self._run(make_parts_dir)
        return target

    async def store_part(self, target: UploadTarget, chunk: StagedChunk) -> StoredPart:
        await self._run(lambda: self._store_part(target, chunk))
        return StoredPart(chunk.seq, chunk.size, chunk.sha256)

    async def find_part(self, target: UploadTarget, seq: int, sha256: str) -> StoredPart | None:
        path = self.part_path(target, seq)

        def find() -> StoredPart | None:
            if not path.is_file() or _sha256_of(path) != sha256:
                return None
            return StoredPart(seq, path.stat().st_size, sha256)

        return await self._run(find)

    async def finalise(
        self, target: UploadTarget, parts: Sequence[StoredPart], *, size: int, sha256: str
    ) -> None:
        await self._run(lambda: self._finalise(target, parts, size, sha256))

    async def abort(self, target: UploadTarget) -> None:
        await self._run(lambda: self._remove_parts(target))

    async def prepare(self) -> str:
        if await self._run(self._ensure_root):
            return f"created {self.root} (mode {DIRECTORY_MODE:o}, owner uid {os.getuid()})"
        return f"{self.root} exists"

    async def write(self, key: str, data: bytes) -> None:
        path = self.path_of(key)

        def write() -> None:
            self._ensure_root()
            _write_atomically(path, data)

        await self._run(write)

    async def read(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await self._run(path.read_bytes)
        except VolumeMissingError as exc:
            raise ObjectMissingError(f"{key} is not on the volume {self.root}") from exc

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await self._run(lambda: path.open("rb"))
        except VolumeMissingError as exc:
            raise ObjectMissingError(f"{key} is not on the volume {self.root}") from exc
        try:
            while block := await asyncio.to_thread(handle.read, BLOCK):
                yield block
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        await self._run(lambda: path.unlink(missing_ok=True))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    async def sweep_temporaries(self, *, older_than: float, keep: Collection[str]) -> int:
        """Remove `.tmp-*` files a crash left behind: older than `older_than` seconds and not
        the temporary of a key in `keep` (an assembly that may still be running). Part
        folders are left to their uploads. Returns how many were removed."""
        return await self._run(lambda: sweep_temporaries(self.root, older_than, set(keep)))

    async def usage(self) -> Usage:
        stats = await self._run(lambda: os.statvfs(self.root))
        total = stats.f_blocks * stats.f_frsize
        return Usage(
            used_bytes=total - stats.f_bfree * stats.f_frsize,
            free_bytes=stats.f_bavail * stats.f_frsize,
            total_bytes=total,
        )

    # -- blocking work, run in a thread ----------------------------------------------------

    async def _run(self, work: Callable[[], T]) -> T:
        with self._errors():
            return await asyncio.to_thread(work)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn OSErrors into sentences that name the cause."""
        try:
            yield
        except OSError as exc:
            raise self._explain(exc) from exc
        except ValueError as exc:  # a path the OS refuses outright, e.g. with a NUL byte
            raise VolumeError(f"the volume path is invalid: {exc}") from exc

    def _ensure_root(self) -> bool:
        """Make the volume's directory on first use (shared/volumes/_directory.py says how);
        True when this call made it."""
        made = ensure_directory(self.root)
        if made:
            log.info("volume_directory_created", path=str(self.root), mode=oct(DIRECTORY_MODE))
        return made

    def _explain(self, exc: OSError) -> VolumeError:
        where = exc.filename or self.root
        if exc.errno in {errno.ENOSPC, errno.EDQUOT}:
            return VolumeFullError(f"volume is full: no space left on {self.root}")
        if exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
            return VolumeAccessDeniedError(f"permission denied writing {where}")
        if not self.root.is_dir():
            return VolumeMissingError(
                f"volume directory {self.root} does not exist and cannot be made: "
                f"{exc.strerror} ({where})"
            )
        if exc.errno == errno.ENOENT:
            return VolumeMissingError(f"{where} does not exist on the volume")
        return VolumeError(f"cannot use the volume {self.root}: {exc.strerror} ({where})")

    def _store_part(self, target: UploadTarget, chunk: StagedChunk) -> None:
        folder = self.parts_dir(target)
        if not folder.is_dir():
            raise UploadGoneError(f"the upload of attempt {target.attempt_id} was aborted")
        dest = self.part_path(target, chunk.seq)
        if chunk.path is not None and chunk.movable and _same_filesystem(chunk.path, folder):
            # The staged file is already durable: moving it writes the data zero more times.
            chunk.path.rename(dest)
        else:
            tmp = dest.with_name(dest.name + ".tmp")
            try:
                with tmp.open("wb") as out:
                    if chunk.path is not None:
                        with chunk.path.open("rb") as src:
                            _append(src, out, chunk.size)
                    else:
                        out.write(chunk.data or b"")
                    out.flush()
                    os.fsync(out.fileno())
                tmp.replace(dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        _fsync_dir(folder)

    def _finalise(
        self, target: UploadTarget, parts: Sequence[StoredPart], size: int, sha256: str
    ) -> None:
        final = self.path_of(target.key)
        folder = self.parts_dir(target)
        if not folder.is_dir():
            if final.is_file() and final.stat().st_size == size and _sha256_of(final) == sha256:
                return  # finalised before a crash; the repeat changes nothing
            raise UploadGoneError(f"the parts of attempt {target.attempt_id} are gone")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f"{final.name}{TEMP_MARK}{uuid4().hex}")
        try:
            with tmp.open("wb") as out:
                for part in sorted(parts, key=lambda p: p.seq):
                    with self.part_path(target, part.seq).open("rb") as src:
                        _append(src, out, part.size)
                out.flush()
                os.fsync(out.fileno())
            _verify(tmp, target.key, size, sha256)
            tmp.replace(final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        self._remove_parts(target)

    def _remove_parts(self, target: UploadTarget) -> None:
        folder = self.parts_dir(target)
        shutil.rmtree(folder, ignore_errors=True)
        for empty in (folder.parent, folder.parent.parent):
            try:
                empty.rmdir()  # only succeeds when no other attempt or snapshot is in there
            except OSError:
                break


def _append(src: BinaryIO, out: BinaryIO, size: int) -> None:
    """Append `size` bytes of `src` to `out`.

    `os.copy_file_range` copies inside the kernel (a reflink on CoW filesystems): the bytes
    never pass through Python, which keeps the uploader's CPU and memory flat however big
    the artifact. Where the kernel or filesystem refuses it, `copyfileobj` does the same
    through a buffer.
    """
    out.flush()
    remaining = size
    try:
        while remaining > 0:
            copied = os.copy_file_range(src.fileno(), out.fileno(), remaining)
            if copied == 0:
                break  # the part is shorter than recorded; the size check reports it
            remaining -= copied
    except OSError as exc:
        if exc.errno not in _FALLBACK_ERRNOS or remaining != size:
            raise
        shutil.copyfileobj(src, out, BLOCK)


def _verify(path: Path, key: str, size: int, sha256: str) -> None:
    actual_size = path.stat().st_size
    if actual_size != size:
        raise ArtifactMismatchError(
            f"assembled {key} has {actual_size} bytes, but the dump reported {size}"
        )
    if _sha256_of(path) != sha256:
        raise ArtifactMismatchError(f"assembled {key} does not match the dump's sha256")


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _same_filesystem(source: Path, folder: Path) -> bool:
    try:
        return source.stat().st_dev == folder.stat().st_dev
    except FileNotFoundError:
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{TEMP_MARK}{uuid4().hex}")
    try:
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
