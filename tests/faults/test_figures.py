"""The fault suite's own checks can fail: leftovers on a volume, in a bucket or in staging are
counted, and any non-zero figure that must be 0 is reported (no servers needed)."""

from pathlib import Path
from types import SimpleNamespace

from tests.faults.audit import Figures, Snapshot, count_leftovers


class FakeBucket:
    def __init__(self, objects: list[str], uploads: list[str]) -> None:
        self.objects = objects
        self.uploads = uploads

    def list_objects(self, _bucket, recursive):
        assert recursive
        return [SimpleNamespace(object_name=name) for name in self.objects]

    def _list_multipart_uploads(self, _bucket):
        return SimpleNamespace(
            uploads=[SimpleNamespace(object_name=n, upload_id="u1") for n in self.uploads]
        )


def harness(tmp_path: Path, bucket: FakeBucket, staged: list[str]) -> SimpleNamespace:
    local = tmp_path / "volume"
    local.mkdir()
    return SimpleNamespace(
        local_root=local,
        bucket="b",
        volumes={"local": {"id": "L"}, "s3": {"id": "S"}},
        seaweed=SimpleNamespace(server=SimpleNamespace(client=lambda: bucket)),
        staging=SimpleNamespace(leftovers=lambda: [Path(p) for p in staged]),
    )


def completed(snapshot_id: str, volume_id: str, path: str) -> Snapshot:
    return Snapshot(snapshot_id, "completed", None, path, volume_id, "gzip", "db", "x")


def write(root: Path, key: str) -> None:
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(b"x")


class TestLeftovers:
    def test_a_clean_run_counts_nothing(self, tmp_path):
        h = harness(tmp_path, FakeBucket(["s/d/b.sql.gz", "s/d/b.manifest.json"], []), [])
        write(h.local_root, "s/d/a.sql.gz")
        write(h.local_root, "s/d/a.manifest.json")
        known = {
            "1": completed("1", "L", "s/d/a.sql.gz"),
            "2": completed("2", "S", "s/d/b.sql.gz"),
        }
        figures = Figures()
        count_leftovers(h, known, figures)
        assert figures.nonzero() == {}

    def test_every_kind_of_leftover_is_counted(self, tmp_path):
        h = harness(
            tmp_path,
            FakeBucket(["s/d/failed.sql.gz"], ["s/d/open.sql.gz"]),
            ["/staging/x/y/000000.chunk"],
        )
        write(h.local_root, ".parts/x/y/000001.part")
        write(h.local_root, "s/d/a.sql.gz")  # its snapshot failed: nothing explains it
        known = {"1": Snapshot("1", "failed", "why", "s/d/a.sql.gz", "L", "gzip", "db", None)}
        figures = Figures()
        count_leftovers(h, known, figures)
        assert figures.nonzero() == {
            "orphan part files (local)": [".parts/x/y/000001.part"],
            "incomplete multipart uploads (S3)": ["s/d/open.sql.gz (u1)"],
            "objects without a completed snapshot": [
                "local: s/d/a.sql.gz",
                "s3: s/d/failed.sql.gz",
            ],
            "staged chunks left": ["/staging/x/y/000000.chunk"],
        }
