"""How big a backup's chunks are: big enough that the artifact fits the volume's part limit.

Chunk `seq` becomes S3 multipart part `seq + 1`, and S3 allows 10,000 parts. A fixed chunk
size caps the artifact (8 MiB x 10,000 is about 78 GiB), so the size of a backup's chunks
grows with what the backup is expected to weigh: the database's last dump, or its size on
its server. Local volumes have no part limit but use the same chunks.
"""

import math
from dataclasses import dataclass

from services.dumper.errors import DumpError
from services.dumper.settings import DumperSettings
from shared.events import BackupRequested
from shared.logging import get_logger
from shared.sealing import Sealer, UnsealError

log = get_logger(__name__)

MIB = 1024 * 1024
GIB = 1024 * MIB
SIZE_HEADROOM = 1.5
"""The estimate is stretched by this much: databases grow between snapshots, and a size
taken from the server is only a rough guide to the compressed dump."""


class PartLimitError(DumpError):
    """The artifact needs more parts than the volume allows, even with the largest parts."""


@dataclass(frozen=True)
class PartPlan:
    """The chunk size of one backup, and the part count it must stay within.

    `max_parts` is None when no destination limits parts (local volumes only).
    """

    part_size: int
    max_parts: int | None
    expected_size: int | None = None

    def check_seq(self, seq: int, *, staged_bytes: int) -> None:
        """PartLimitError when chunk `seq` would be one part more than the volume allows.

        Raised while the dump runs, so a dump that outgrows its plan fails as soon as that
        is known instead of after the whole dump.
        """
        if self.max_parts is None or seq < self.max_parts:
            return
        estimate = (
            f"; the backup was expected to be about {human_size(self.expected_size)}"
            if self.expected_size is not None
            else ""
        )
        raise PartLimitError(
            f"the dump outgrew its plan: {self.max_parts} parts of "
            f"{human_size(self.part_size)} ({human_size(staged_bytes)}) are written and more "
            f"is coming, more than the volume allows ({self.max_parts}){estimate}; raise "
            "DUMPER_MAX_PART_SIZE or store the backup on a local volume"
        )


def plan_parts(
    expected_size: int | None,
    *,
    min_part_size: int,
    max_part_size: int,
    max_parts: int | None,
) -> PartPlan:
    """The chunk size for a backup expected to weigh `expected_size` bytes.

    The size is the smallest that fits the estimate with headroom into `max_parts` parts,
    rounded up to whole MiB, never below `min_part_size` nor above `max_part_size`.
    PartLimitError when even `max_part_size` parts cannot hold the estimate itself.
    """
    if expected_size is None or expected_size <= 0:
        return PartPlan(min_part_size, max_parts, expected_size)
    divisor = max_parts or 10_000  # local volumes size their chunks as S3 would
    wanted = math.ceil(math.ceil(expected_size * SIZE_HEADROOM / divisor) / MIB) * MIB
    part_size = min(max(wanted, min_part_size), max_part_size)
    if max_parts is not None:
        needed = math.ceil(expected_size / max_part_size)
        if needed > max_parts:
            raise PartLimitError(
                f"the database is about {human_size(expected_size)}; with parts of "
                f"{human_size(max_part_size)} that needs {needed} parts, more than the volume "
                f"allows ({max_parts}); raise DUMPER_MAX_PART_SIZE or store the backup on a "
                "local volume"
            )
    return PartPlan(part_size, max_parts, expected_size)


def plan_backup_parts(
    request: BackupRequested,
    database_size: int | None,
    *,
    last_size: int | None = None,
    settings: DumperSettings,
    sealer: Sealer,
) -> PartPlan:
    """The chunk size of one backup, from its last dump's size, else the database's.

    The request's own `expected_size` comes first when it has one. Only S3 destinations
    limit parts; a backup whose copies are all local has no limit.
    """
    remembered = request.expected_size or last_size
    expected = remembered or database_size
    volumes = [request.destination.volume, *(copy.volume for copy in request.copies)]
    limited = any(_limits_parts(sealer, sealed) for sealed in volumes)
    parts = plan_parts(
        expected,
        min_part_size=settings.min_part_size,
        max_part_size=settings.max_part_size,
        max_parts=settings.max_parts if limited else None,
    )
    log.info(
        "parts_planned",
        part_size=parts.part_size,
        max_parts=parts.max_parts,
        expected_size=expected,
        estimate="last_dump" if remembered else "server",
    )
    return parts


def _limits_parts(sealer: Sealer, sealed_volume: str) -> bool:
    """True unless the volume is a local directory (only S3 multipart limits parts)."""
    try:
        return sealer.unseal(sealed_volume).get("type") != "local"
    except UnsealError:
        return True  # unknown: assume the limit; the uploader reports the bad seal


def human_size(size: int) -> str:
    """`size` bytes in GiB from 1 GiB on, else in MiB, as a person reads it."""
    if size >= GIB:
        return f"{size / GIB:.1f} GiB"
    return f"{size / MIB:.1f} MiB"
