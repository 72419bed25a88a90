"""The HTTP bodies: a Create schema per resource, and the Public one it answers with."""

from services.api.schemas.backups import BackupAccepted, BackupCreate, SnapshotAccepted
from services.api.schemas.servers import ServerCreate, ServerPublic
from services.api.schemas.snapshots import SnapshotPublic
from services.api.schemas.volumes import VolumeCreate, VolumePublic

__all__ = [
    "BackupAccepted",
    "BackupCreate",
    "ServerCreate",
    "ServerPublic",
    "SnapshotAccepted",
    "SnapshotPublic",
    "VolumeCreate",
    "VolumePublic",
]
