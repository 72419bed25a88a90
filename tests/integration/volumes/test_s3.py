"""The S3 volume driver against a real S3 server (SeaweedFS unless TEST_S3_* say otherwise)."""

import hashlib
import os
from uuid import uuid4

import pytest
from pydantic import SecretStr

from shared.specs import S3VolumeConfig
from shared.volumes import (
    ObjectMissingError,
    S3Volume,
    StagedChunk,
    UploadGoneError,
    VolumeAccessDeniedError,
    VolumeMissingError,
    VolumeUnreachableError,
)
from tests.support.env import free_port

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
KEY = "srv/db/20261125T030000Z_x.sql.gz"


def volume_for(server, bucket, *, prefix="", credentials=None, endpoint=None) -> S3Volume:
    creds = credentials or server.admin
    return S3Volume(
        S3VolumeConfig(
            endpoint=endpoint or server.endpoint,
            bucket=bucket,
            prefix=prefix,
            access_key=creds.access_key,
            secret_key=SecretStr(creds.secret_key),
            secure=False,
        )
    )


def chunk(seq: int, data: bytes) -> StagedChunk:
    return StagedChunk(seq, len(data), hashlib.sha256(data).hexdigest(), data=data)


def open_uploads(server, bucket) -> list[str]:
    return [u.object_name for u in server.client()._list_multipart_uploads(bucket).uploads]


class TestMultipartRoundTrip:
    async def test_parts_stored_out_of_order_complete_into_one_object(self, s3_server, s3_bucket):
        volume = volume_for(s3_server, s3_bucket, prefix="backups/")
        blobs = [os.urandom(5 * MIB), os.urandom(5 * MIB + 7), os.urandom(1234)]
        whole = b"".join(blobs)
        target = await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        assert not await volume.exists(KEY)

        parts = [await volume.store_part(target, chunk(seq, blobs[seq])) for seq in (2, 0, 1)]
        assert not await volume.exists(KEY)  # nothing under the final name before completion

        await volume.finalise(
            target, parts, size=len(whole), sha256=hashlib.sha256(whole).hexdigest()
        )
        await volume.write("srv/db/x.manifest.json", b'{"format": 1}')

        assert await volume.read(KEY) == whole
        assert b"".join([b async for b in volume.open_stream(KEY)]) == whole
        names = {o.object_name for o in s3_server.client().list_objects(s3_bucket, recursive=True)}
        assert names == {f"backups/{KEY}", "backups/srv/db/x.manifest.json"}
        assert open_uploads(s3_server, s3_bucket) == []
        assert (await volume.usage()).used_bytes == len(whole) + len(b'{"format": 1}')
        assert (await volume.usage()).free_bytes is None

    async def test_repeating_a_completed_finalise_is_accepted(self, s3_server, s3_bucket):
        volume = volume_for(s3_server, s3_bucket)
        target = await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        part = await volume.store_part(target, chunk(0, b"small"))
        sha = hashlib.sha256(b"small").hexdigest()
        await volume.finalise(target, [part], size=5, sha256=sha)
        await volume.finalise(target, [part], size=5, sha256=sha)
        assert await volume.read(KEY) == b"small"

    async def test_abort_leaves_no_multipart_upload(self, s3_server, s3_bucket):
        volume = volume_for(s3_server, s3_bucket)
        target = await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        await volume.store_part(target, chunk(0, os.urandom(1000)))
        assert open_uploads(s3_server, s3_bucket) == [KEY]

        await volume.abort(target)
        await volume.abort(target)

        assert open_uploads(s3_server, s3_bucket) == []
        assert not await volume.exists(KEY)
        with pytest.raises(UploadGoneError):
            await volume.store_part(target, chunk(1, b"late"))

    async def test_delete_and_missing_objects(self, s3_server, s3_bucket):
        volume = volume_for(s3_server, s3_bucket)
        await volume.write("a.json", b"{}")
        await volume.delete("a.json")
        assert not await volume.exists("a.json")
        with pytest.raises(ObjectMissingError):
            await volume.read("a.json")


class TestErrorSentences:
    async def test_missing_bucket_is_named(self, s3_server):
        volume = volume_for(s3_server, "no-such-bucket-dbm")
        with pytest.raises(VolumeMissingError) as caught:
            await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        assert str(caught.value) == (
            f"bucket no-such-bucket-dbm does not exist on {s3_server.endpoint}"
        )

    async def test_wrong_secret_is_access_denied(self, s3_server, s3_bucket):
        creds = type(s3_server.admin)(s3_server.admin.access_key, "wrong-secret")
        volume = volume_for(s3_server, s3_bucket, credentials=creds)
        with pytest.raises(VolumeAccessDeniedError) as caught:
            await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        assert str(caught.value) == (
            f"access denied to bucket {s3_bucket} (check access_key/secret_key)"
        )
        assert "wrong-secret" not in str(caught.value)

    async def test_prepare_says_the_bucket_exists_and_creates_none(self, s3_server, s3_bucket):
        assert await volume_for(s3_server, s3_bucket).prepare() == (
            f"bucket {s3_bucket} exists on {s3_server.endpoint}"
        )
        with pytest.raises(VolumeMissingError, match="Databasement never creates buckets"):
            await volume_for(s3_server, "no-such-bucket-dbm").prepare()
        assert not s3_server.client().bucket_exists("no-such-bucket-dbm")

    async def test_prepare_with_a_wrong_secret_is_access_denied(self, s3_server, s3_bucket):
        creds = type(s3_server.admin)(s3_server.admin.access_key, "wrong-secret")
        with pytest.raises(VolumeAccessDeniedError, match=f"access denied to bucket {s3_bucket}"):
            await volume_for(s3_server, s3_bucket, credentials=creds).prepare()

    async def test_read_only_key_is_access_denied(self, s3_server, s3_bucket):
        if s3_server.reader is None:
            pytest.skip("the S3 server from TEST_S3_ENDPOINT has no known read-only key pair")
        volume = volume_for(s3_server, s3_bucket, credentials=s3_server.reader)
        with pytest.raises(VolumeAccessDeniedError, match="access denied to bucket"):
            await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        assert open_uploads(s3_server, s3_bucket) == []

    async def test_nothing_listening_is_unreachable(self, s3_server):
        endpoint = f"127.0.0.1:{free_port()}"
        volume = volume_for(s3_server, "some-bucket", endpoint=endpoint)
        with pytest.raises(VolumeUnreachableError) as caught:
            await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
        assert str(caught.value) == f"volume unreachable: {endpoint} does not answer"
