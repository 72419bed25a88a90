"""In-memory stand-ins for the uploader's edges: its tables, the staging area, volumes."""

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from services.uploader.upload import ChunkRecord, FinalisePlan, Upload, UploadKey, UploadState
from shared.events import Destination, Event
from shared.volumes import StagedChunk, StoredPart, UploadTarget


class FakeUploads:
    """The uploads and upload_chunks tables, as dicts (no concurrency between replicas)."""

    def __init__(self) -> None:
        self.rows: dict[UploadKey, Upload] = {}
        self.chunks: dict[UploadKey, dict[int, ChunkRecord]] = {}

    async def open_upload(
        self, key: UploadKey, artifact_key: str, begin: Callable[[], Awaitable[str]]
    ) -> Upload:
        if key not in self.rows:
            stored = any(
                k.snapshot_id == key.snapshot_id and k.volume_id == key.volume_id
                for k, u in self.rows.items()
                if u.state == "stored"
            )
            self.rows[key] = Upload(key, artifact_key, "abandoned" if stored else "open")
        upload = self.rows[key]
        if upload.state == "open" and not upload.begun:
            upload = dataclasses.replace(upload, upload_id=await begin())
            self.rows[key] = upload
        return upload

    async def has_chunk(self, key: UploadKey, seq: int) -> bool:
        return seq in self.chunks.get(key, {})

    async def record_chunk(self, key: UploadKey, chunk: ChunkRecord) -> UploadState:
        state = self.rows[key].state
        if state == "open":
            self.chunks.setdefault(key, {}).setdefault(chunk.seq, chunk)
        return state

    async def record_finished(
        self, key: UploadKey, chunk_count: int, dump_finished: dict[str, Any]
    ) -> None:
        if self.rows[key].state == "open":
            self.rows[key] = dataclasses.replace(
                self.rows[key], chunk_count=chunk_count, dump_finished=dump_finished
            )

    @contextlib.asynccontextmanager
    async def finalising(self, key: UploadKey) -> AsyncIterator[FinalisePlan | None]:
        upload = self.rows.get(key)
        chunks = list(self.chunks.get(key, {}).values())
        ready = (
            upload is not None
            and upload.state == "open"
            and upload.chunk_count is not None
            and len(chunks) == upload.chunk_count
        )
        plan = FinalisePlan(upload, chunks) if ready and upload is not None else None
        yield plan
        if plan is not None:
            self.rows[key] = dataclasses.replace(plan.upload, state="stored")

    async def close_upload(
        self, key: UploadKey, artifact_key: str, state: UploadState, reason: str
    ) -> Upload | None:
        upload = self.rows.get(key)
        if upload is not None and upload.state != "open":
            return None
        closed = dataclasses.replace(
            upload or Upload(key, artifact_key, state), state=state, reason=reason
        )
        self.rows[key] = closed
        return closed

    async def other_open_attempts(self, key: UploadKey) -> list[Upload]:
        return [
            u
            for k, u in self.rows.items()
            if k.snapshot_id == key.snapshot_id
            and k.volume_id == key.volume_id
            and k.attempt_id != key.attempt_id
            and u.state == "open"
        ]

    async def attempt_states(self, snapshot_id: UUID, attempt_id: UUID) -> dict[UUID, UploadState]:
        return {
            k.volume_id: u.state
            for k, u in self.rows.items()
            if (k.snapshot_id, k.attempt_id) == (snapshot_id, attempt_id)
        }

    async def open_artifact_keys(self) -> set[str]:
        return {u.artifact_key for u in self.rows.values() if u.state == "open"}


class FakeStaging:
    """A staging area in memory."""

    def __init__(self) -> None:
        self.chunks: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        self.chunks[key] = data

    async def get(self, key: str) -> bytes:
        return self.chunks[key]

    async def delete(self, key: str) -> None:
        self.chunks.pop(key, None)

    async def count(self, prefix: str) -> int:
        return sum(1 for key in self.chunks if key.startswith(prefix))

    async def delete_prefix(self, prefix: str) -> int:
        gone = [key for key in self.chunks if key.startswith(prefix)]
        for key in gone:
            del self.chunks[key]
        return len(gone)

    def local_path(self, key: str) -> Path | None:
        del key
        return None


class FakeVolume:
    """A volume in memory; `broken` makes every write raise it."""

    def __init__(self, broken: Exception | None = None) -> None:
        self.broken = broken
        self.parts: dict[tuple[UUID, int], bytes] = {}
        self.files: dict[str, bytes] = {}
        self.aborted: list[UUID] = []
        self.sweeps: list[tuple[float, set[str]]] = []

    def location(self) -> str:
        return "memory"

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken

    async def begin(self, *, snapshot_id: UUID, attempt_id: UUID, key: str) -> UploadTarget:
        self._check()
        return UploadTarget(snapshot_id, attempt_id, key, f"upload-{attempt_id}")

    async def store_part(self, target: UploadTarget, chunk: StagedChunk) -> StoredPart:
        self._check()
        assert chunk.data is not None
        self.parts[(target.attempt_id, chunk.seq)] = chunk.data
        return StoredPart(chunk.seq, chunk.size, chunk.sha256)

    async def find_part(self, target: UploadTarget, seq: int, sha256: str) -> StoredPart | None:
        del target, seq, sha256
        return None

    async def finalise(
        self, target: UploadTarget, parts: list[StoredPart], *, size: int, sha256: str
    ) -> None:
        del size, sha256
        self._check()
        self.files[target.key] = b"".join(
            self.parts.pop((target.attempt_id, p.seq)) for p in sorted(parts, key=lambda p: p.seq)
        )

    async def abort(self, target: UploadTarget) -> None:
        self.aborted.append(target.attempt_id)
        for part in [p for p in self.parts if p[0] == target.attempt_id]:
            del self.parts[part]

    async def write(self, key: str, data: bytes) -> None:
        self._check()
        self.files[key] = data

    async def sweep_temporaries(self, *, older_than: float, keep: set[str]) -> int:
        self.sweeps.append((older_than, set(keep)))
        return 0


class FakeVolumes:
    """Opens the FakeVolume registered for a destination's volume id."""

    def __init__(self, volumes: dict[UUID, FakeVolume]) -> None:
        self.volumes = volumes

    def open(self, destination: Destination) -> FakeVolume:
        return self.volumes[destination.volume_id]


class Published:
    """Collects what the assembler publishes."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]
