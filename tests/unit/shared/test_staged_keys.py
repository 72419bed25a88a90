"""A staged key names exactly its own chunk, inside the staging root, or it is refused."""

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from shared.events import ChunkStaged, Destination, chunk_key
from shared.staging import LocalStaging, StagingError

# Fixed ids: parametrized test ids must be the same in every collecting process (xdist).
SNAPSHOT = UUID("d7c54944-372b-432c-95be-413250149d29")
ATTEMPT = UUID("06fb7646-9c73-4f5f-adc6-b6c8025b13db")
OTHER = UUID("73085f4c-d857-4bf1-a1ca-f96746e340a3")


def staged(key: str, *, seq: int = 3) -> ChunkStaged:
    return ChunkStaged(
        snapshot_id=SNAPSHOT,
        attempt_id=ATTEMPT,
        seq=seq,
        raw_size=10,
        size=5,
        sha256="ab" * 32,
        staged_key=key,
        destination=Destination(
            volume_id=uuid4(), volume="sealed", artifact_key="s/d/a.sql.gz", compression="gzip"
        ),
    )


class TestChunkStagedKey:
    def test_its_own_key_is_accepted(self):
        assert staged(chunk_key(SNAPSHOT, ATTEMPT, 3)).staged_key.endswith("/000003.chunk")

    @pytest.mark.parametrize(
        "key",
        [
            "../../etc/passwd",
            "/etc/passwd",
            f"{SNAPSHOT}/{ATTEMPT}/../../{OTHER}/{ATTEMPT}/000003.chunk",
            f"{SNAPSHOT}/{ATTEMPT}/000004.chunk",  # another seq than the event's
            f"{SNAPSHOT}/{OTHER}/000003.chunk",  # another attempt
            f"{OTHER}/{ATTEMPT}/000003.chunk",  # another snapshot
            f"{SNAPSHOT}/",  # a prefix: the whole snapshot
            f"{SNAPSHOT}/{ATTEMPT}/000003.chunk/",
            "",
        ],
    )
    def test_any_other_key_is_refused_without_repeating_it(self, key):
        with pytest.raises(ValidationError) as caught:
            staged(key)
        [error] = caught.value.errors(include_input=False)
        assert error["loc"] == ("staged_key",)
        assert "must be <snapshot_id>/<attempt_id>/<seq>.chunk of this chunk" in error["msg"]


class TestLocalStagingContainment:
    @pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "a/../../outside", ".", ""])
    def test_a_key_outside_the_root_is_refused(self, tmp_path: Path, key):
        staging = LocalStaging(tmp_path / "staging")
        with pytest.raises(StagingError, match="inside the staging area"):
            staging.local_path(key)

    def test_a_symlink_out_of_the_root_is_refused(self, tmp_path: Path):
        root = tmp_path / "staging"
        root.mkdir()
        (root / "escape").symlink_to(tmp_path)
        with pytest.raises(StagingError):
            LocalStaging(root).local_path("escape/secret")

    async def test_deleting_an_outside_key_touches_nothing(self, tmp_path: Path):
        victim = tmp_path / "victim"
        victim.write_text("keep me")
        with pytest.raises(StagingError):
            await LocalStaging(tmp_path / "staging").delete("../victim")
        assert victim.read_text() == "keep me"
