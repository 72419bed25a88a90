"""A completed artifact leaves no other open multipart upload of its object behind.

The fault suite (issue 9) found one: the uploader began an upload, its database went away
before the upload id was recorded, and the retry began a second one; the first stayed open.
"""

import hashlib
from uuid import uuid4

import pytest

from tests.integration.volumes.test_s3 import chunk, open_uploads, volume_for

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
