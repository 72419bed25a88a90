"""Per-snapshot data keys, and wrapping them with a master key (AES-256-GCM).

A wrapped key is base64 of `nonce (12) || AES-GCM(master, data key) || tag (16)`, with the
snapshot id as associated data: a wrapped key copied into another snapshot's manifest does
not open.
"""

import base64
import binascii
import secrets
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.encryption.errors import WrongKeyError
from shared.encryption.keyring import KEY_BYTES, Keyring, MasterKey

NONCE_BYTES = 12
_WRAP_CONTEXT = b"databasement/data-key/v1:"


def new_data_key() -> bytes:
    """A fresh random 32-byte data key (one per snapshot attempt)."""
    return secrets.token_bytes(KEY_BYTES)


def _associated(snapshot_id: UUID) -> bytes:
    return _WRAP_CONTEXT + snapshot_id.bytes


def wrap_data_key(data_key: bytes, master: MasterKey, snapshot_id: UUID) -> str:
    """The data key sealed by `master` for `snapshot_id`, as base64."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(master.secret).encrypt(nonce, data_key, _associated(snapshot_id))
    return base64.b64encode(nonce + sealed).decode()


def unwrap_data_key(wrapped: str, keyring: Keyring, snapshot_id: UUID, *, key_id: str) -> bytes:
    """The data key inside `wrapped`; the key named `key_id` is tried first, then the others.

    Raises:
        WrongKeyError: no key of the keyring opens it, or it was tampered with.
    """
    try:
        raw = base64.b64decode(wrapped, validate=True)
    except (binascii.Error, ValueError):
        raise WrongKeyError("the wrapped data key is not base64") from None
    named = keyring.get(key_id)
    candidates = ([named] if named else []) + [k for k in keyring.keys if k is not named]
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for master in candidates:
        try:
            data_key = AESGCM(master.secret).decrypt(nonce, sealed, _associated(snapshot_id))
        except (InvalidTag, ValueError):
            continue
        if len(data_key) == KEY_BYTES:
            return data_key
    listed = ", ".join(keyring.key_ids)
    raise WrongKeyError(f"master key {key_id!r} wrapped the data key; the keyring holds {listed}")


def rewrap_data_key(
    wrapped: str, keyring: Keyring, snapshot_id: UUID, *, key_id: str
) -> tuple[str, str]:
    """The data key re-wrapped by the keyring's active key: `(key_id, wrapped)`.

    Only the 32-byte data key changes hands; the artifact's data is never re-encrypted.
    """
    data_key = unwrap_data_key(wrapped, keyring, snapshot_id, key_id=key_id)
    return keyring.active.key_id, wrap_data_key(data_key, keyring.active, snapshot_id)
