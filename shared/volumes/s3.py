"""A volume that is a bucket on an S3-compatible server (AWS S3, MinIO, SeaweedFS).

Each attempt's artifact is one multipart upload; chunk `seq` is part number `seq + 1`, so
any uploader replica can store any chunk in any order, and completing the upload makes the
whole object appear at once under its final key.

minio 7.2 exposes the multipart calls only as private methods (`_create_multipart_upload`,
`_upload_part`, `_complete_multipart_upload`, `_abort_multipart_upload`); its public
`put_object` drives a whole upload from one stream in one process. We need part-level
uploads from several replicas in any order, so this one adapter uses the private methods
(signatures checked against minio 7.2.20). Every blocking call runs in a thread.
"""

import asyncio
import base64
import contextlib
import functools
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from minio import Minio
from minio.datatypes import Part

from shared.outbound import STRICT, OutboundPolicy
from shared.specs import S3VolumeConfig
from shared.volumes._base import (
    ArtifactMismatchError,
    ObjectMissingError,
    StagedChunk,
    StoredPart,
    UploadGoneError,
    UploadTarget,
    Usage,
    VolumeError,
    VolumeMissingError,
    VolumeUnreachableError,
)
from shared.volumes.s3client import bare_endpoint, build_client, read_object, s3_errors

BLOCK = 1024 * 1024
T = TypeVar("T")
ABORT_RETRY_WAITS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 60.0, 60.0, 60.0, 120.0, 120.0)
"""Seconds between background tries of an abort the server did not answer (~8 min)."""
_ABORTS_IN_RETRY: set[asyncio.Task[None]] = set()


class S3Volume:
    """A bucket, optionally under a key prefix."""

    place = "bucket"

    def __init__(
        self,
        config: S3VolumeConfig,
        *,
        client: Minio | None = None,
        outbound: OutboundPolicy = STRICT,
    ) -> None:
        self.endpoint = bare_endpoint(config.endpoint)
        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        self.client = client or build_client(
            endpoint=config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key.get_secret_value(),
            secure=config.secure,
            region=config.region,
            outbound=outbound,
        )

    @property
    def location(self) -> str:
        return "/".join(p for p in (self.endpoint, self.bucket, self.prefix) if p)

    def object_name(self, key: str) -> str:
        """The object key of a volume key: the prefix, then the key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _run(self, work: Callable[[], T]) -> T:
        with s3_errors(endpoint=self.endpoint, bucket=self.bucket):
            return await asyncio.to_thread(work)

    # -- the Volume protocol ---------------------------------------------------------------

    async def begin(self, *, snapshot_id: UUID, attempt_id: UUID, key: str) -> UploadTarget:
        name = self.object_name(key)
        upload_id = await self._run(
            lambda: self.client._create_multipart_upload(  # noqa: SLF001 - see module docstring
                self.bucket, name, {"Content-Type": "application/octet-stream"}
            )
        )
        return UploadTarget(snapshot_id, attempt_id, key, str(upload_id))

    async def store_part(self, target: UploadTarget, chunk: StagedChunk) -> StoredPart:
        name = self.object_name(target.key)

        def upload() -> str:
            data = chunk.data if chunk.data is not None else _read_file(chunk)
            # Content-MD5 makes the server check the bytes it received (AWS, MinIO, SeaweedFS).
            digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            etag = self.client._upload_part(  # noqa: SLF001 - see module docstring
                self.bucket, name, data, {"Content-MD5": digest}, target.upload_id, chunk.seq + 1
            )
            return str(etag)

        etag = await self._run(upload)
        return StoredPart(chunk.seq, chunk.size, chunk.sha256, etag)

    async def find_part(self, target: UploadTarget, seq: int, sha256: str) -> StoredPart | None:
        # A staged chunk is deleted only after its part is recorded, so there is never a
        # stored part whose record was lost: nothing to find.
        del target, seq, sha256
        return None

    async def finalise(
        self, target: UploadTarget, parts: Sequence[StoredPart], *, size: int, sha256: str
    ) -> None:
        name = self.object_name(target.key)
        ordered = [Part(p.seq + 1, p.etag) for p in sorted(parts, key=lambda p: p.seq)]
        try:
            await self._run(
                lambda: self.client._complete_multipart_upload(  # noqa: SLF001 - see docstring
                    self.bucket, name, target.upload_id, ordered
                )
            )
        except UploadGoneError:
            # Completed before a crash? Then the object is there with its size; else it's gone.
            if await self._stored_size(name) != size:
                raise
        stored = await self._stored_size(name)
        if stored != size:
            await self._run(lambda: self.client.remove_object(self.bucket, name))
            raise ArtifactMismatchError(
                f"assembled {target.key} has {stored} bytes, but the dump reported {size}"
            )
        # Each part's sha256 was checked before upload and its MD5 by the server on receipt;
        # reading the whole object back to hash it would double the transfer.
        del sha256
        await self._abort_strays(name, keep=target.upload_id)

    async def _abort_strays(self, name: str, *, keep: str) -> None:
        """Abort every other open upload of a completed artifact's object.

        One is left when `begin` created an upload whose id was never recorded (the
        uploader's database went away just after) and a retry began another; the fault
        suite found them. Once the artifact is complete, they are all garbage.
        """

        def strays() -> list[str]:
            found = self.client._list_multipart_uploads(  # noqa: SLF001 - see module docstring
                self.bucket, prefix=name
            )
            return [
                str(u.upload_id)
                for u in found.uploads
                if u.object_name == name and u.upload_id not in {keep, None}
            ]

        def abort(upload_id: str) -> None:
            self.client._abort_multipart_upload(self.bucket, name, upload_id)  # noqa: SLF001

        for upload_id in await self._run(strays):
            with contextlib.suppress(UploadGoneError):
                await self._run(functools.partial(abort, upload_id))

    async def abort(self, target: UploadTarget) -> None:
        if not target.upload_id:
            return
        name = self.object_name(target.key)
        try:
            await self._abort(name, target.upload_id)
        except VolumeUnreachableError:
            # An upload left open is garbage the bucket keeps (and bills) for ever; the fault
            # suite left some when S3 went away mid-backup. Keep trying a while in
            # the background, and still tell the caller this try failed.
            task = asyncio.create_task(self._abort_later(name, target.upload_id))
            _ABORTS_IN_RETRY.add(task)
            task.add_done_callback(_ABORTS_IN_RETRY.discard)
            raise

    async def _abort(self, name: str, upload_id: str) -> None:
        with contextlib.suppress(UploadGoneError):  # already aborted or completed
            await self._run(
                lambda: self.client._abort_multipart_upload(  # noqa: SLF001 - see docstring
                    self.bucket, name, upload_id
                )
            )

    async def _abort_later(self, name: str, upload_id: str) -> None:
        for wait in ABORT_RETRY_WAITS:
            await asyncio.sleep(wait)
            try:
                await self._abort(name, upload_id)
            except VolumeUnreachableError:
                continue
            except VolumeError:
                return  # refused for another reason: retrying will not help
            return

    async def prepare(self) -> str:
        # A bucket carries region, policy and billing choices: the owner makes it, never us.
        if not await self._run(lambda: self.client.bucket_exists(self.bucket)):
            raise VolumeMissingError(
                f"bucket {self.bucket} does not exist on {self.endpoint}; create it first "
                "(Databasement never creates buckets)"
            )
        return f"bucket {self.bucket} exists on {self.endpoint}"

    async def write(self, key: str, data: bytes) -> None:
        name = self.object_name(key)
        await self._run(
            lambda: self.client.put_object(
                self.bucket, name, io.BytesIO(data), len(data), content_type="application/json"
            )
        )

    async def read(self, key: str) -> bytes:
        name = self.object_name(key)
        return await self._run(lambda: read_object(self.client, self.bucket, name))

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        name = self.object_name(key)
        response: Any = await self._run(lambda: self.client.get_object(self.bucket, name))
        try:
            while block := await self._run(lambda: response.read(BLOCK)):
                yield bytes(block)
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        name = self.object_name(key)
        await self._run(lambda: self.client.remove_object(self.bucket, name))

    async def exists(self, key: str) -> bool:
        return await self._stored_size(self.object_name(key)) is not None

    async def presigned_url(self, key: str, *, expires: timedelta) -> str:
        """A URL anyone holding it may GET `key` with, until `expires` from now."""
        name = self.object_name(key)
        return await self._run(
            lambda: self.client.presigned_get_object(self.bucket, name, expires=expires)
        )

    async def sweep_temporaries(self, *, older_than: float, keep: Collection[str]) -> int:
        # An S3 artifact is never written under a temporary name: a multipart upload appears
        # whole or not at all, and stray uploads are aborted when one completes.
        del older_than, keep
        return 0

    async def usage(self) -> Usage:
        prefix = f"{self.prefix}/" if self.prefix else None

        def total() -> int:
            listing = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return sum(item.size or 0 for item in listing)

        # S3 has no notion of free space.
        return Usage(used_bytes=await self._run(total), free_bytes=None, total_bytes=None)

    async def _stored_size(self, name: str) -> int | None:
        try:
            stat = await self._run(lambda: self.client.stat_object(self.bucket, name))
        except ObjectMissingError:
            return None
        return int(stat.size) if stat.size is not None else None


def _read_file(chunk: StagedChunk) -> bytes:
    assert chunk.path is not None  # noqa: S101 - a StagedChunk has bytes or a path
    return chunk.path.read_bytes()
