"""The uploader's tables: uploads and their stored chunks (SQL in module constants).

Concurrency between replicas rests on row locks of `uploads`: beginning an upload and
finalising it both hold the row's lock, recording a chunk holds a share lock, so exactly one
replica begins a multipart upload and exactly one finalises it.
"""

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from asyncpg import Pool, Record

from services.uploader.upload import ChunkRecord, FinalisePlan, Upload, UploadKey, UploadState
from shared.database import Conn

_KEY = "snapshot_id = $1 AND attempt_id = $2 AND volume_id = $3"
_COLUMNS = (
    "snapshot_id, attempt_id, volume_id, artifact_key, state, upload_id, chunk_count, "
    "dump_finished, reason"
)

# A new attempt of a snapshot that is already stored on this volume starts abandoned.
INSERT_UPLOAD = """
INSERT INTO {schema}.uploads (snapshot_id, attempt_id, volume_id, artifact_key, state)
SELECT $1, $2, $3, $4,
       CASE WHEN EXISTS (
           SELECT 1 FROM {schema}.uploads
           WHERE snapshot_id = $1 AND volume_id = $3 AND state = 'stored'
       ) THEN 'abandoned' ELSE 'open' END
ON CONFLICT DO NOTHING
"""
LOCK_UPLOAD = f"SELECT {_COLUMNS} FROM {{schema}}.uploads WHERE {_KEY} FOR UPDATE"
LOCK_UPLOAD_IF_FREE = (
    f"SELECT {_COLUMNS} FROM {{schema}}.uploads WHERE {_KEY} FOR UPDATE SKIP LOCKED"
)
SHARE_UPLOAD = f"SELECT state FROM {{schema}}.uploads WHERE {_KEY} FOR SHARE"
# One attempt at a time finalises a snapshot's artifact on a volume (the artifact key is the
# snapshot's, whichever attempt wrote it); held until the transaction ends.
LOCK_ARTIFACT_IF_FREE = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1::uuid::text || '/' || $2::uuid::text, 0))"
)
OTHER_ATTEMPT_STORED = """
SELECT 1 FROM {schema}.uploads
WHERE snapshot_id = $1 AND volume_id = $3 AND attempt_id <> $2 AND state = 'stored'
"""
SET_UPLOAD_ID = f"UPDATE {{schema}}.uploads SET upload_id = $4, updated_at = now() WHERE {_KEY}"
HAS_CHUNK = f"SELECT 1 FROM {{schema}}.upload_chunks WHERE {_KEY} AND seq = $4"
INSERT_CHUNK = """
INSERT INTO {schema}.upload_chunks
    (snapshot_id, attempt_id, volume_id, seq, size, raw_size, sha256, etag)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""
SELECT_CHUNKS = (
    f"SELECT seq, size, raw_size, sha256, etag FROM {{schema}}.upload_chunks WHERE {_KEY} "
    "ORDER BY seq"
)
SET_FINISHED = f"""
UPDATE {{schema}}.uploads SET chunk_count = $4, dump_finished = $5::jsonb, updated_at = now()
WHERE {_KEY} AND state = 'open'
"""
SET_STORED = f"UPDATE {{schema}}.uploads SET state = 'stored', updated_at = now() WHERE {_KEY}"
# Ends an open upload (or records that a never-seen attempt is over, so late chunks are
# dropped); returns the row only when this call made the transition.
CLOSE_UPLOAD = f"""
INSERT INTO {{schema}}.uploads
    (snapshot_id, attempt_id, volume_id, artifact_key, state, reason)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (snapshot_id, attempt_id, volume_id) DO UPDATE
    SET state = EXCLUDED.state, reason = EXCLUDED.reason, updated_at = now()
    WHERE uploads.state = 'open'
RETURNING {_COLUMNS}
"""
OTHER_OPEN_ATTEMPTS = f"""
SELECT {_COLUMNS} FROM {{schema}}.uploads
WHERE snapshot_id = $1 AND volume_id = $3 AND attempt_id <> $2 AND state = 'open'
"""

OPEN_ARTIFACTS = """
SELECT DISTINCT artifact_key FROM {schema}.uploads WHERE state = 'open'
"""

ATTEMPT_STATES = """
SELECT volume_id, state FROM {schema}.uploads WHERE snapshot_id = $1 AND attempt_id = $2
"""


def _upload(row: Record) -> Upload:
    finished = row["dump_finished"]
    return Upload(
        key=UploadKey(row["snapshot_id"], row["attempt_id"], row["volume_id"]),
        artifact_key=row["artifact_key"],
        state=row["state"],
        upload_id=row["upload_id"],
        chunk_count=row["chunk_count"],
        dump_finished=json.loads(finished) if finished is not None else None,
        reason=row["reason"],
    )


def _args(key: UploadKey) -> tuple[Any, ...]:
    return (key.snapshot_id, key.attempt_id, key.volume_id)


class UploadRepository:
    """Typed access to the uploader's tables in `schema`."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    def _sql(self, template: str) -> str:
        return template.format(schema=self.schema)

    async def open_upload(
        self, key: UploadKey, artifact_key: str, begin: Callable[[], Awaitable[str]]
    ) -> Upload:
        """The upload of `key`, created and begun on the volume by exactly one replica."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql(INSERT_UPLOAD), *_args(key), artifact_key)
            row = await conn.fetchrow(self._sql(LOCK_UPLOAD), *_args(key))
            if row is None:
                raise RuntimeError("an upload row vanished inside its own transaction")
            upload = _upload(row)
            if upload.state == "open" and not upload.begun:
                upload_id = await begin()  # under the row lock: one multipart upload per key
                await conn.execute(self._sql(SET_UPLOAD_ID), *_args(key), upload_id)
                upload = dataclasses.replace(upload, upload_id=upload_id)
            return upload

    async def has_chunk(self, key: UploadKey, seq: int) -> bool:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(self._sql(HAS_CHUNK), *_args(key), seq) is not None

    async def record_chunk(self, key: UploadKey, chunk: ChunkRecord) -> UploadState:
        """Record a stored chunk while the upload is open; returns the upload's state."""
        async with self.pool.acquire() as conn, conn.transaction():
            state: UploadState = await conn.fetchval(self._sql(SHARE_UPLOAD), *_args(key))
            if state == "open":
                await conn.execute(
                    self._sql(INSERT_CHUNK),
                    *_args(key),
                    chunk.seq,
                    chunk.size,
                    chunk.raw_size,
                    chunk.sha256,
                    chunk.etag,
                )
            return state

    async def record_finished(
        self, key: UploadKey, chunk_count: int, dump_finished: dict[str, Any]
    ) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                self._sql(SET_FINISHED), *_args(key), chunk_count, json.dumps(dump_finished)
            )

    @asynccontextmanager
    async def finalising(self, key: UploadKey) -> AsyncIterator[FinalisePlan | None]:
        """Lock a complete open upload for finalising, or yield None.

        None when the upload is not open, the dump has not finished, a chunk is missing,
        another replica holds the row (it will see everything this one committed), or
        another attempt of the snapshot is finalising or stored on the volume (it closes this
        one once it is stored). On a
        clean exit the upload is marked stored in the same transaction; on an exception
        it stays open.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            plan = await self._plan(conn, key)
            yield plan
            if plan is not None:
                await conn.execute(self._sql(SET_STORED), *_args(key))

    async def _plan(self, conn: Conn, key: UploadKey) -> FinalisePlan | None:
        row = await conn.fetchrow(self._sql(LOCK_UPLOAD_IF_FREE), *_args(key))
        if row is None:
            return None
        upload = _upload(row)
        if upload.state != "open" or upload.chunk_count is None:
            return None
        # Two attempts complete at once after a dumper was taken over: the first to finalise
        # wins and closes the other; the other must never overwrite its artifact meanwhile.
        if not await conn.fetchval(
            self._sql(LOCK_ARTIFACT_IF_FREE), key.snapshot_id, key.volume_id
        ):
            return None
        if await conn.fetchval(self._sql(OTHER_ATTEMPT_STORED), *_args(key)):
            return None
        chunks = [
            ChunkRecord(r["seq"], r["size"], r["raw_size"], r["sha256"], r["etag"])
            for r in await conn.fetch(self._sql(SELECT_CHUNKS), *_args(key))
        ]
        if len(chunks) != upload.chunk_count:
            return None
        return FinalisePlan(upload, chunks)

    async def close_upload(
        self, key: UploadKey, artifact_key: str, state: UploadState, reason: str
    ) -> Upload | None:
        """Move an open (or unknown) upload to `state`; None when it was already closed."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                self._sql(CLOSE_UPLOAD), *_args(key), artifact_key, state, reason
            )
            return _upload(row) if row is not None else None

    async def other_open_attempts(self, key: UploadKey) -> list[Upload]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(self._sql(OTHER_OPEN_ATTEMPTS), *_args(key))
            return [_upload(r) for r in rows]

    async def attempt_states(self, snapshot_id: UUID, attempt_id: UUID) -> dict[UUID, UploadState]:
        """The state of the attempt's upload on each volume it has reached."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(self._sql(ATTEMPT_STATES), snapshot_id, attempt_id)
            return {row["volume_id"]: row["state"] for row in rows}

    async def open_artifact_keys(self) -> set[str]:
        """Artifact keys still being assembled, by any replica on any volume (a key names its
        snapshot, so it is one artifact wherever it is; two volumes may share a folder)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(self._sql(OPEN_ARTIFACTS))
            return {row["artifact_key"] for row in rows}
