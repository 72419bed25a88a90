"""Storage volumes: a local directory or an S3 bucket, behind one `Volume` protocol.

`open_volume(spec)` builds the driver a `VolumeSpec` names. Opening does no I/O.
"""

from pathlib import Path

from shared.outbound import STRICT, OutboundPolicy
from shared.specs import LocalVolumeSpec, S3VolumeSpec
from shared.volumes._base import (
    ArtifactMismatchError,
    ObjectMissingError,
    StagedChunk,
    StoredPart,
    UploadGoneError,
    UploadTarget,
    Usage,
    Volume,
    VolumeAccessDeniedError,
    VolumeError,
    VolumeFullError,
    VolumeMissingError,
    VolumeUnreachableError,
)
from shared.volumes.local import LocalVolume
from shared.volumes.s3 import S3Volume

__all__ = [
    "ArtifactMismatchError",
    "LocalVolume",
    "ObjectMissingError",
    "S3Volume",
    "StagedChunk",
    "StoredPart",
    "UploadGoneError",
    "UploadTarget",
    "Usage",
    "Volume",
    "VolumeAccessDeniedError",
    "VolumeError",
    "VolumeFullError",
    "VolumeMissingError",
    "VolumeUnreachableError",
    "open_volume",
]


def open_volume(
    spec: LocalVolumeSpec | S3VolumeSpec, *, outbound: OutboundPolicy = STRICT
) -> Volume:
    """The driver for `spec`: a `LocalVolume` or an `S3Volume`, which connects only where
    `outbound` allows (shared/outbound.py)."""
    if isinstance(spec, LocalVolumeSpec):
        return LocalVolume(Path(spec.config.path))
    return S3Volume(spec.config, outbound=outbound)
