"""No multipart upload stays open on S3 after a backup ended, completed or not.

The fault suite found two ways one did: the uploader began an upload, its database
went away before the upload id was recorded, and the retry began a second one; and S3 went
away between a part and the completion, so the abort of the failed upload failed too.
"""

import asyncio
import hashlib
import time
from uuid import uuid4

import pytest

from shared.volumes import VolumeUnreachableError
from tests.integration.volumes.test_s3 import chunk, open_uploads, volume_for
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.integration

KEY = "srv/db/20261125T030000Z_stray.sql.gz"
OTHER = "srv/db/20261125T030000Z_other.sql.gz"


class TestStrayUploads:
    async def test_finalise_aborts_an_unrecorded_upload_of_the_same_object(
        self, s3_server, s3_bucket
    ):
        volume = volume_for(s3_server, s3_bucket, prefix="backups")
        snapshot, attempt = uuid4(), uuid4()
        await volume.begin(snapshot_id=snapshot, attempt_id=attempt, key=KEY)  # id lost
        unrelated = await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=OTHER)
        target = await volume.begin(snapshot_id=snapshot, attempt_id=attempt, key=KEY)
        data = b"one small dump"
        part = await volume.store_part(target, chunk(0, data))

        await volume.finalise(
            target, [part], size=len(data), sha256=hashlib.sha256(data).hexdigest()
        )

        assert await volume.read(KEY) == data
        assert open_uploads(s3_server, s3_bucket) == [volume.object_name(OTHER)]
        await volume.abort(unrelated)

    async def test_an_abort_s3_did_not_answer_is_retried_until_it_does(self, s3_server, s3_bucket):
        host, port = s3_server.endpoint.split(":")
        proxy = TcpProxy(host, int(port))
        await proxy.open()
        try:
            volume = volume_for(s3_server, s3_bucket, endpoint=f"127.0.0.1:{proxy.port}")
            target = await volume.begin(snapshot_id=uuid4(), attempt_id=uuid4(), key=KEY)
            await volume.store_part(target, chunk(0, b"half a backup"))
            await proxy.close()

            with pytest.raises(VolumeUnreachableError):
                await volume.abort(target)
            assert open_uploads(s3_server, s3_bucket) == [KEY], "aborted through a closed proxy?"

            await proxy.open()
            deadline = time.monotonic() + 20
            while open_uploads(s3_server, s3_bucket) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            assert open_uploads(s3_server, s3_bucket) == []
        finally:
            await proxy.close()
