"""Master-key rotation on the dumper's side: re-wrap one copy's data key (docs/encryption.md).

The dumper holds the keyring, so it reads the copy's manifest, unwraps the data key with any
listed master key, wraps it again with the active (first) one and rewrites the manifest. The
artifact is never read nor re-encrypted: only the 60-byte wrapped key changes. A manifest
that differs from what the catalog recorded (the request's anchor) is left alone and the
rewrap fails: rewriting it would launder a forged chunk list.
"""

import json
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from services.dumper.artifact import MANIFEST_LIMIT
from services.dumper.ports import Publish
from shared.anchors import mismatch
from shared.encryption import EncryptionError, Keyring, rewrap_data_key, unwrap_data_key
from shared.events import Encryption, KeysRewrapFailed, KeysRewrapped, KeysRewrapRequested
from shared.logging import get_logger
from shared.sealing import Sealer, UnsealError
from shared.specs import VolumeSpec
from shared.volumes import ObjectMissingError, VolumeError

log = get_logger(__name__)


class RewrapError(Exception):
    """A copy's data key cannot be re-wrapped; the message is a sentence."""


class ManifestStore(Protocol):
    """The volume holding a copy, as far as rotation needs it."""

    async def read(self, key: str) -> bytes: ...

    async def write(self, key: str, data: bytes) -> None: ...


OpenStore = Callable[[VolumeSpec], ManifestStore]


class Rewrapper:
    """Answers KeysRewrapRequested with KeysRewrapped or KeysRewrapFailed."""

    def __init__(
        self, *, sealer: Sealer, keyring: Keyring | None, open_volume: OpenStore, publish: Publish
    ) -> None:
        self._sealer = sealer
        self._keyring = keyring
        self._open_volume = open_volume
        self._publish = publish
        self._specs: TypeAdapter[VolumeSpec] = TypeAdapter(VolumeSpec)

    async def rewrap(self, request: KeysRewrapRequested) -> KeysRewrapped | KeysRewrapFailed:
        """Re-wrap the copy's data key with the active master key; publish the outcome."""
        event: KeysRewrapped | KeysRewrapFailed
        try:
            event = await self._rewrap(request)
        except (RewrapError, EncryptionError, VolumeError) as exc:
            event = KeysRewrapFailed(
                snapshot_id=request.snapshot_id,
                volume_id=request.volume_id,
                manifest_key=request.manifest_key,
                reason=str(exc),
            )
            log.warning("keys_rewrap_failed", reason=event.reason)
        else:
            log.info(
                "keys_rewrapped", key_id=event.encryption.key_id, previous=event.previous_key_id
            )
        await self._publish(event)
        return event

    async def _rewrap(self, request: KeysRewrapRequested) -> KeysRewrapped:
        if self._keyring is None:
            raise RewrapError("the dumper has no master key: set DUMPER_MASTER_KEYS")
        if request.anchor is None:
            raise RewrapError(
                "the request carries no catalog record of the artifact to check the manifest "
                "against (it was sent by an older api); start the rewrap again"
            )
        store = self._open_volume(self._volume_spec(request.volume))
        active = self._keyring.active
        try:
            data = await store.read(request.manifest_key)
            if len(data) > MANIFEST_LIMIT:
                raise RewrapError(f"manifest refused: {request.manifest_key} is too large")
            manifest: dict[str, Any] = json.loads(data)
            reason = mismatch(
                request.anchor,
                manifest,
                artifact_key=str(manifest.get("artifact") or ""),
                key_ids={request.anchor.key_id or "", active.key_id},
            )
            if reason is not None:
                raise RewrapError(reason)
            current = Encryption.model_validate(manifest["encryption"])
        except ObjectMissingError:
            raise RewrapError(f"manifest missing: {request.manifest_key}") from None
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
            raise RewrapError(
                f"the manifest {request.manifest_key} has no readable encryption block"
            ) from None
        if current.key_id == active.key_id:
            # Already wrapped by the active key (a redelivery, or a second rotation run):
            # prove it still opens, write nothing.
            unwrap_data_key(
                current.wrapped_key, self._keyring, request.snapshot_id, key_id=current.key_id
            )
            renewed = current
        else:
            key_id, wrapped = rewrap_data_key(
                current.wrapped_key, self._keyring, request.snapshot_id, key_id=current.key_id
            )
            renewed = Encryption(key_id=key_id, wrapped_key=wrapped)
            manifest["encryption"] = renewed.model_dump()
            await store.write(request.manifest_key, json.dumps(manifest, indent=2).encode() + b"\n")
        return KeysRewrapped(
            snapshot_id=request.snapshot_id,
            volume_id=request.volume_id,
            manifest_key=request.manifest_key,
            previous_key_id=current.key_id,
            encryption=renewed,
        )

    def _volume_spec(self, sealed: str) -> VolumeSpec:
        try:
            return self._specs.validate_python(self._sealer.unseal(sealed))
        except UnsealError as exc:
            raise RewrapError(str(exc)) from None
        except ValidationError:
            raise RewrapError("the volume is malformed") from None
