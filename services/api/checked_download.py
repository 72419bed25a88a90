"""A download the api serves, checked against the catalog before and as it goes.

Before answering, the volume's manifest is compared with the catalog's record (a rewritten
one is refused with 409, for S3 and local volumes alike).
The artifact is read from the volume and cut into the chunks the catalog's manifest lists;
each chunk is sent only once its sha256 matches the catalog's, so no byte that the backup
did not write leaves the api. On the first mismatch the response is cut: the body stops
short of its Content-Length and the connection closes, which every HTTP client reports as
a broken download (the CLI says so, and checks the whole file's sha256 besides).
"""

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import StreamingResponse
from starlette.types import Send

from services.api.errors import ConflictError, NotFoundError
from shared.anchors import MANIFEST_LIMIT, mismatch
from shared.events import ArtifactAnchor
from shared.logging import get_logger
from shared.volumes import ObjectMissingError

log = get_logger(__name__)


class ArtifactMismatchError(Exception):
    """The volume's bytes differ from the catalog's record; the message is a sentence."""


class Readable(Protocol):
    """The volume, as far as the check needs it."""

    def open_stream(self, key: str) -> AsyncIterator[bytes]: ...


async def check_volume_manifest(
    store: Readable, *, manifest_key: str, artifact_key: str, anchor: ArtifactAnchor
) -> None:
    """ConflictError (409, "artifact does not match the catalog (...)") unless the volume's
    manifest is the one the catalog recorded; NotFoundError when it is missing."""
    held = bytearray()
    stream = store.open_stream(manifest_key)
    try:
        async for block in stream:
            held += block
            if len(held) > MANIFEST_LIMIT:
                raise ConflictError(f"the manifest {manifest_key} is larger than {MANIFEST_LIMIT}")
    except ObjectMissingError:
        raise NotFoundError(f"the manifest {manifest_key} is missing from its volume") from None
    finally:
        await _close(stream)
    try:
        body = json.loads(bytes(held))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ConflictError(f"the manifest {manifest_key} on the volume is not a manifest")
    reason = mismatch(anchor, body, artifact_key=artifact_key)
    if reason is not None:
        log.warning("snapshot_download_refused", reason=reason)
        raise ConflictError(reason)


async def _close(blocks: AsyncIterator[bytes]) -> None:
    aclose = getattr(blocks, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass(frozen=True)
class ExpectedChunk:
    """One chunk as the catalog recorded it."""

    seq: int
    size: int
    sha256: str


def expected_chunks(manifest: Mapping[str, Any]) -> list[ExpectedChunk]:
    """The chunk list of the catalog's manifest (recorded by the uploader, not read from the
    volume); ValueError when it has none."""
    try:
        return [
            ExpectedChunk(int(c["seq"]), int(c["size"]), str(c["sha256"]))
            for c in manifest["chunks"]
        ]
    except (KeyError, TypeError, ValueError):
        raise ValueError("the catalog's manifest has no chunk list") from None


async def checked_blocks(
    blocks: AsyncIterator[bytes], chunks: Sequence[ExpectedChunk]
) -> AsyncIterator[bytes]:
    """The artifact's chunks, each yielded once it matches; ArtifactMismatchError at the
    first that does not (or when the volume holds more or fewer bytes)."""
    pending = bytearray()
    exhausted = False
    try:
        for chunk in chunks:
            while len(pending) < chunk.size and not exhausted:
                block = await anext(blocks, None)
                if block is None:
                    exhausted = True
                else:
                    pending += block
            data = bytes(pending[: chunk.size])
            del pending[: chunk.size]
            if len(data) < chunk.size:
                raise ArtifactMismatchError(
                    f"artifact does not match the catalog (it ends inside chunk {chunk.seq})"
                )
            if hashlib.sha256(data).hexdigest() != chunk.sha256:
                raise ArtifactMismatchError(
                    f"artifact does not match the catalog (sha256 of chunk {chunk.seq})"
                )
            yield data
        if pending or await anext(blocks, None) is not None:
            raise ArtifactMismatchError(
                "artifact does not match the catalog (it is longer than recorded)"
            )
    finally:
        await _close(blocks)


class CheckedStreamingResponse(StreamingResponse):
    """Streams `checked_blocks`; on a mismatch it stops without ending the body, so the
    server closes the connection instead of passing a short body off as complete."""

    def __init__(self, content: AsyncIterator[bytes], *, snapshot_id: str, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._snapshot_id = snapshot_id

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for block in self.body_iterator:
                await send({"type": "http.response.body", "body": block, "more_body": True})
        except ArtifactMismatchError as exc:
            log.warning("snapshot_download_cut", snapshot_id=self._snapshot_id, reason=str(exc))
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
