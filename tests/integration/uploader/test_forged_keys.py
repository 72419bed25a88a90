"""A ChunkStaged whose staged_key is not its own chunk is dead-lettered; nothing is touched."""

import hashlib
import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from shared.events import ChunkStaged
from shared.staging import attempt_prefix
from tests.integration.uploader.test_uploader import local_spec, new_attempt
from tests.support.dead_letters import publish_expecting_rejection, raw_body, rejections

pytestmark = pytest.mark.integration

REASON = (
    "ChunkStaged failed validation: staged_key: Value error, "
    "must be <snapshot_id>/<attempt_id>/<seq>.chunk of this chunk"
)


async def staged(uploader, attempt) -> int:
    return await uploader.staging.count(attempt_prefix(attempt.snapshot_id, attempt.attempt_id))


class TestForgedStagedKeys:
    @pytest.mark.parametrize("how", ["dot-dot", "absolute", "other-seq", "other-snapshot"])
    async def test_a_forged_key_is_rejected_and_reads_copies_deletes_nothing(
        self, uploader, rabbit_url, tmp_path: Path, how
    ):
        volume = tmp_path / "volume"
        volume.mkdir()
        victim = tmp_path / "victim" / "passwd"
        victim.parent.mkdir()
        victim.write_bytes(b"root:x:0:0::/root:/bin/sh\n")
        other = await new_attempt(uploader, local_spec(volume), (1000,))
        attempt = await new_attempt(uploader, local_spec(volume), (1000, 800))
        forged_body = attempt.chunks[0].model_dump(mode="json")
        if how == "dot-dot":
            key = os.path.relpath(victim, uploader.staging.root)
            sha, size = hashlib.sha256(victim.read_bytes()).hexdigest(), victim.stat().st_size
            forged_body |= {"staged_key": key, "sha256": sha, "size": size}
        elif how == "absolute":
            forged_body |= {"staged_key": str(victim)}
        elif how == "other-seq":
            forged_body |= {"staged_key": attempt.chunks[1].staged_key}
        else:
            other_chunk = other.chunks[0]
            forged_body |= {
                "staged_key": other_chunk.staged_key,
                "sha256": other_chunk.sha256,
                "size": other_chunk.size,
            }

        with capture_logs() as logs:
            await publish_expecting_rejection(
                rabbit_url,
                uploader.topology,
                "uploader",
                ChunkStaged.routing_key,
                raw_body(forged_body),
            )

        assert [line["reason"] for line in rejections(logs, ChunkStaged.routing_key)] == [REASON]
        assert victim.read_bytes() == b"root:x:0:0::/root:/bin/sh\n"
        assert await staged(uploader, other) == 1, "another snapshot's chunk went"
        assert await staged(uploader, attempt) == 2, "the attempt's own chunks went"
        assert not any(volume.rglob("*")), "something reached the volume"
        # The real chunks of the attempt are still stored as usual.
        await uploader.publish(*attempt.chunks, attempt.finished())
        stored = await uploader.next_event("backup.stored", attempt_id=attempt.attempt_id)
        assert (volume / stored["path"]).read_bytes() == attempt.artifact
