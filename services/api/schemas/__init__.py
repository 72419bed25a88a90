"""The HTTP bodies: a Create schema per resource, and the Public one it answers with."""

from services.api.schemas.backups import BackupAccepted, BackupCreate, SnapshotAccepted
from services.api.schemas.servers import ServerCreate, ServerPublic, ServerUpdate
from services.api.schemas.snapshots import SnapshotDetail, SnapshotPage, SnapshotPublic
from services.api.schemas.tokens import TokenCreate, TokenCreated, TokenPublic
from services.api.schemas.volumes import VolumeCreate, VolumePublic, VolumeUpdate

__all__ = [
    "BackupAccepted",
    "BackupCreate",
    "ServerCreate",
    "ServerPublic",
    "ServerUpdate",
    "SnapshotAccepted",
    "SnapshotDetail",
    "SnapshotPage",
    "SnapshotPublic",
    "TokenCreate",
    "TokenCreated",
    "TokenPublic",
    "VolumeCreate",
    "VolumePublic",
    "VolumeUpdate",
]
