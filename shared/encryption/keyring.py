"""Master keys from a setting: `id1:base64key1,id2:base64key2`; the first wraps new data keys.

Every listed key can unwrap, so rotating means putting a new key first and keeping the old
ones listed until every snapshot's data key is re-wrapped (docs/encryption.md).
"""

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from shared.encryption.errors import KeyringError

KEY_BYTES = 32
"""AES-256."""

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class MasterKey:
    """One named master key; `repr` never shows the key."""

    key_id: str
    secret: bytes

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class Keyring:
    """The master keys in order: `active` (the first) wraps, every one may unwrap."""

    keys: tuple[MasterKey, ...]

    @property
    def active(self) -> MasterKey:
        """The key that wraps new data keys."""
        return self.keys[0]

    def get(self, key_id: str) -> MasterKey | None:
        """The key named `key_id`, if listed."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    @property
    def key_ids(self) -> list[str]:
        return [k.key_id for k in self.keys]


def parse_keyring(text: str, *, source: str = "the keyring") -> Keyring:
    """The keyring in `text` (`id:base64key` entries separated by commas or newlines).

    Raises:
        KeyringError: naming `source` and the entry at fault, never showing a key.
    """
    entries = [
        e.strip() for e in re.split(r"[,\n]", text) if e.strip() and not e.strip().startswith("#")
    ]
    if not entries:
        raise KeyringError(f"{source} holds no master key; expected id:base64key[,id:base64key]")
    keys: list[MasterKey] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise KeyringError(
                f"{source}: entry {position} is not id:base64key (the id is letters, digits, . _ -)"
            )
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError(f"{source}: key {key_id!r} is not valid base64") from None
        if len(secret) != KEY_BYTES:
            raise KeyringError(
                f"{source}: key {key_id!r} is {len(secret)} bytes; a master key is {KEY_BYTES}"
            )
        if any(k.key_id == key_id for k in keys):
            raise KeyringError(f"{source}: key id {key_id!r} is listed twice")
        keys.append(MasterKey(key_id, secret))
    return Keyring(tuple(keys))


def generate_master_key(key_id: str) -> str:
    """A new master key as one keyring entry, `id:base64key`."""
    if not _KEY_ID.match(key_id):
        raise KeyringError("a key id is 1-64 letters, digits, . _ or -")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
