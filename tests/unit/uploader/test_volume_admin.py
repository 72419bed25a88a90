"""Deleting and probing against fake volumes: outcomes and sentences."""

from uuid import uuid4

from services.uploader.volume_admin import delete_snapshot, probe
from shared.events import Event, SnapshotDeleted, SnapshotDeleteFailed, SnapshotDeleteRequested
from shared.volumes import ObjectMissingError, VolumeAccessDeniedError


class FakeVolume:
    location = "/fake"
    place = "directory"

    def __init__(self, *, deny: str | None = None, lose_writes: bool = False) -> None:
        self.objects: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.deny = deny
        self.lose_writes = lose_writes

    def _check(self, op: str) -> None:
        if self.deny == op:
            raise VolumeAccessDeniedError(f"permission denied on {op}")

    async def prepare(self) -> str:
        self._check("prepare")
        return "/fake exists"

    async def write(self, key: str, data: bytes) -> None:
        self._check("write")
        if not self.lose_writes:
            self.objects[key] = data

    async def read(self, key: str) -> bytes:
        self._check("read")
        if key not in self.objects:
            raise ObjectMissingError(f"{key} is not on the volume")
        return self.objects[key]

    async def delete(self, key: str) -> None:
        self._check("delete")
        self.deleted.append(key)
        self.objects.pop(key, None)

    async def exists(self, key: str) -> bool:
        return key in self.objects


class Volumes:
    def __init__(self, volume: FakeVolume) -> None:
        self.volume = volume

    def open_sealed(self, token: str) -> FakeVolume:
        del token
        return self.volume


def request(path: str | None = "a.sql.gz", manifest: str | None = "a.manifest.json"):
    return SnapshotDeleteRequested(
        snapshot_id=uuid4(), volume_id=uuid4(), volume="sealed", path=path, manifest_path=manifest
    )


class TestDelete:
    async def test_artifact_goes_before_manifest_and_success_is_announced(self):
        volume, published = FakeVolume(), []

        async def publish(event: Event) -> None:
            published.append(event)

        event = await delete_snapshot(Volumes(volume), request(), publish)  # type: ignore[arg-type]
        assert volume.deleted == ["a.sql.gz", "a.manifest.json"]
        assert isinstance(event, SnapshotDeleted)
        assert published == [event]

    async def test_a_snapshot_never_stored_is_deleted_without_touching_the_volume(self):
        volume, published = FakeVolume(), []

        async def publish(event: Event) -> None:
            published.append(event)

        event = await delete_snapshot(Volumes(volume), request(None, None), publish)  # type: ignore[arg-type]
        assert volume.deleted == []
        assert isinstance(event, SnapshotDeleted)

    async def test_a_refusal_is_a_delete_failed_with_the_sentence(self):
        published: list[Event] = []

        async def publish(event: Event) -> None:
            published.append(event)

        volumes = Volumes(FakeVolume(deny="delete"))
        event = await delete_snapshot(volumes, request(), publish)  # type: ignore[arg-type]
        assert isinstance(event, SnapshotDeleteFailed)
        assert event.reason == "permission denied on delete"


class TestProbe:
    async def test_every_step_passes_on_a_working_volume_and_nothing_is_left(self):
        volume = FakeVolume()
        checks = await probe(volume)  # type: ignore[arg-type]
        assert [(c.check, c.ok) for c in checks] == [
            ("directory", True), ("write", True), ("read", True), ("delete", True)
        ]  # fmt: skip
        assert volume.objects == {}

    async def test_a_failed_read_leaves_delete_not_checked(self):
        checks = await probe(FakeVolume(lose_writes=True))  # type: ignore[arg-type]
        assert [(c.check, c.ok) for c in checks] == [
            ("directory", True), ("write", True), ("read", False), ("delete", False)
        ]  # fmt: skip
        assert checks[3].detail == "not checked: read failed"

    async def test_a_denied_delete_is_named(self):
        checks = await probe(FakeVolume(deny="delete"))  # type: ignore[arg-type]
        assert (checks[3].ok, checks[3].detail) == (False, "permission denied on delete")

    async def test_an_unusable_place_is_the_first_failure_and_nothing_is_written(self):
        volume = FakeVolume(deny="prepare")
        checks = await probe(volume)  # type: ignore[arg-type]
        assert [(c.check, c.ok, c.detail) for c in checks] == [
            ("directory", False, "permission denied on prepare"),
            ("write", False, "not checked: directory failed"),
            ("read", False, "not checked: directory failed"),
            ("delete", False, "not checked: directory failed"),
        ]
        assert volume.objects == {}
