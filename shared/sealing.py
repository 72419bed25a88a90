"""Seal credentials for transport inside events (Fernet, with a key api, dumper, uploader share)."""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, SecretStr

from shared.specs import reveal


class UnsealError(Exception):
    """A sealed value could not be opened: wrong key, or tampered with."""


class Sealer:
    """Seals and unseals JSON-able values; the key never leaves this object."""

    def __init__(self, key: SecretStr) -> None:
        self._fernet = Fernet(key.get_secret_value().encode())

    def seal(self, value: BaseModel | dict[str, Any]) -> str:
        data = reveal(value) if isinstance(value, BaseModel) else value
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def unseal(self, token: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise UnsealError("sealed credentials cannot be opened with this SEAL_KEY") from exc
        return data
