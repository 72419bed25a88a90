"""Group compressed members into staged chunks big enough to be S3 multipart parts.

Every chunk but the last holds at least `min_size` compressed bytes and is made of whole
members, so chunk `seq` can become part `seq + 1` of a multipart upload, in any order.
"""

import hashlib
from dataclasses import dataclass, field


@dataclass
class Chunk:
    """Consecutive compressed members, staged as one object."""

    seq: int
    members: list[bytes] = field(default_factory=list)
    raw_size: int = 0
    size: int = 0

    def join(self) -> bytes:
        """The staged bytes: the members back to back (the only copy made)."""
        return self.members[0] if len(self.members) == 1 else b"".join(self.members)


class ChunkAssembler:
    """Collects members in order and hands out each chunk once it is big enough."""

    def __init__(self, *, min_size: int) -> None:
        self._min_size = min_size
        self._current = Chunk(seq=0)

    def add(self, member: bytes, *, raw_size: int) -> Chunk | None:
        """Append one member; returns the chunk it completed, if any."""
        chunk = self._current
        chunk.members.append(member)
        chunk.raw_size += raw_size
        chunk.size += len(member)
        if chunk.size < self._min_size:
            return None
        self._current = Chunk(seq=chunk.seq + 1)
        return chunk

    def finish(self) -> Chunk | None:
        """The last, possibly small, chunk; None when every member is already handed out."""
        chunk = self._current
        if not chunk.members:
            return None
        self._current = Chunk(seq=chunk.seq + 1)
        return chunk

    @property
    def next_seq(self) -> int:
        """The sequence number of the chunk being filled: how many were handed out."""
        return self._current.seq


class ArtifactDigest:
    """Running size and SHA-256 of the whole artifact, fed chunk by chunk in order."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.raw_size = 0
        self.size = 0
        self.chunks = 0

    def add(self, data: bytes, *, raw_size: int) -> str:
        """Account for one chunk's staged bytes; returns that chunk's own SHA-256."""
        self._sha.update(data)
        self.raw_size += raw_size
        self.size += len(data)
        self.chunks += 1
        return hashlib.sha256(data).hexdigest()

    def hexdigest(self) -> str:
        return self._sha.hexdigest()
