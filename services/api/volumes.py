"""Volume specs: built from a request, opened from the vault, merged with a change. Pure."""

from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from services.api.errors import InvalidRequestError
from services.api.models import Volume
from services.api.schemas.volumes import (
    LocalVolumeCreate,
    S3VolumeCreate,
    VolumeCreate,
    VolumeUpdate,
)
from services.api.vault import Vault
from shared.specs import LocalVolumeSpec, S3VolumeSpec, VolumeSpec

_spec: TypeAdapter[LocalVolumeSpec | S3VolumeSpec] = TypeAdapter(VolumeSpec)
_create: TypeAdapter[LocalVolumeCreate | S3VolumeCreate] = TypeAdapter(VolumeCreate)


def spec_of(body: LocalVolumeCreate | S3VolumeCreate) -> LocalVolumeSpec | S3VolumeSpec:
    """The full spec, secrets included, of a volume as asked for."""
    if isinstance(body, LocalVolumeCreate):
        return LocalVolumeSpec(config=body.config)
    return S3VolumeSpec(config=body.config)


def volume_spec(volume: Volume, *, vault: Vault) -> LocalVolumeSpec | S3VolumeSpec:
    """The stored spec of `volume`, opened from the vault."""
    return _spec.validate_python(vault.unseal(volume.spec_sealed))


def changed_volume(
    volume: Volume, change: VolumeUpdate, *, vault: Vault
) -> LocalVolumeCreate | S3VolumeCreate:
    """The volume as `change` leaves it, validated like a new one.

    Config keys left out keep their values (the S3 secret key too) unless the type changes,
    which needs a whole config. The stored secret key never follows a new endpoint: moving an
    S3 volume (endpoint or `secure`) needs the secret key again.
    """
    new_type = change.type or volume.type
    if new_type != volume.type and change.config is None:
        raise InvalidRequestError("changing the volume type needs a whole new config")
    config: dict[str, Any] = (
        dict(volume_spec(volume, vault=vault).model_dump()["config"])
        if new_type == volume.type
        else {}
    )
    current = volume_spec(volume, vault=vault)
    if new_type == volume.type and isinstance(current, S3VolumeSpec):
        _refuse_moving_the_secret(current, change.config or {})
        config["secret_key"] = current.config.secret_key.get_secret_value()
    config |= change.config or {}
    try:
        return _create.validate_python(
            {"name": change.name or volume.name, "type": new_type, "config": config}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidRequestError(f"invalid request: {problems}") from None


def _refuse_moving_the_secret(current: S3VolumeSpec, change: dict[str, Any]) -> None:
    if "secret_key" in change:
        return
    endpoint = str(change.get("endpoint", current.config.endpoint))
    secure = change.get("secure", current.config.secure)
    moved = _address(endpoint) != _address(current.config.endpoint)
    if moved or secure != current.config.secure:
        raise InvalidRequestError(
            "enter the secret key again when the endpoint changes (endpoint or secure): the "
            "stored secret key is only used with the endpoint it was entered for"
        )


def endpoint_host(endpoint: str) -> str:
    """The host of an S3 endpoint as a person typed it (`https://s3.example.com:9000/`)."""
    return urlsplit("//" + _address(endpoint)).hostname or ""


def _address(endpoint: str) -> str:
    """`host[:port]`, lowercased, without a scheme or trailing slash."""
    text = endpoint.strip().lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    return text.rstrip("/")
