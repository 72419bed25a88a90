"""Encryption at rest (docs/encryption.md): master keyring, data keys, sealed chunks.

Pure: no I/O, nothing read from the environment; callers hand in the keyring text.
"""

from shared.encryption.datakeys import (
    new_data_key,
    rewrap_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from shared.encryption.errors import (
    CorruptChunkError,
    EncryptionError,
    KeyringError,
    WrongKeyError,
)
from shared.encryption.frames import ChunkOpener, ChunkSealer, FrameReader
from shared.encryption.keyring import Keyring, MasterKey, generate_master_key, parse_keyring

ALGORITHM = "AES-256-GCM"

__all__ = [
    "ALGORITHM",
    "ChunkOpener",
    "ChunkSealer",
    "CorruptChunkError",
    "EncryptionError",
    "FrameReader",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "WrongKeyError",
    "generate_master_key",
    "new_data_key",
    "parse_keyring",
    "rewrap_data_key",
    "unwrap_data_key",
    "wrap_data_key",
]
