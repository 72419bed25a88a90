"""The S3 staging area against a real S3 server."""

from uuid import uuid4

import pytest
from pydantic import SecretStr

from shared.events import chunk_key
from shared.settings import StagingSettings
from shared.staging import S3Staging, StagingError, attempt_prefix, open_staging

pytestmark = pytest.mark.integration


def staging_for(server, bucket, secret=None):
    return open_staging(
        StagingSettings(
            kind="s3",
            s3_endpoint=f"http://{server.endpoint}",
            s3_bucket=bucket,
            s3_access_key=SecretStr(server.admin.access_key),
            s3_secret_key=SecretStr(secret or server.admin.secret_key),
            s3_secure=False,
        )
    )


class TestS3Staging:
    async def test_put_get_count_delete(self, s3_server, s3_bucket):
        staging = staging_for(s3_server, s3_bucket)
        assert isinstance(staging, S3Staging)
        assert staging.local_path("x") is None
        snapshot, attempt, other = uuid4(), uuid4(), uuid4()
        for seq in range(3):
            await staging.put(chunk_key(snapshot, attempt, seq), b"chunk%d" % seq)
        await staging.put(chunk_key(snapshot, other, 0), b"other")

        assert await staging.get(chunk_key(snapshot, attempt, 1)) == b"chunk1"
        assert await staging.count(attempt_prefix(snapshot, attempt)) == 3
        assert await staging.count(attempt_prefix(snapshot)) == 4

        await staging.delete(chunk_key(snapshot, attempt, 0))
        await staging.delete(chunk_key(snapshot, attempt, 0))
        assert await staging.count(attempt_prefix(snapshot, attempt)) == 2
        assert await staging.delete_prefix(attempt_prefix(snapshot, attempt)) == 2
        assert await staging.count(attempt_prefix(snapshot)) == 1

    async def test_bad_secret_is_a_sentence(self, s3_server, s3_bucket):
        staging = staging_for(s3_server, s3_bucket, secret="wrong")
        with pytest.raises(StagingError, match="access denied to bucket") as caught:
            await staging.put("a/b/000000.chunk", b"x")
        assert "wrong" not in str(caught.value)

    def test_missing_bucket_setting_is_refused(self):
        with pytest.raises(StagingError, match="STAGING_S3_BUCKET"):
            open_staging(StagingSettings(kind="s3", s3_endpoint="127.0.0.1:1"))
