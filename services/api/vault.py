"""The credentials vault: stored passwords and volume secrets, encrypted with
API_CREDENTIALS_KEY, and still readable under the previous keys while a rotation is under way.
"""

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, SecretStr

from shared.specs import reveal


class VaultError(Exception):
    """A stored secret cannot be opened with any of the configured keys."""


class Vault:
    """Seals with the first key; opens with any of them (MultiFernet)."""

    def __init__(self, key: SecretStr, *, previous: Sequence[SecretStr] = ()) -> None:
        keys = [key, *previous]
        self._fernet = MultiFernet([Fernet(k.get_secret_value().encode()) for k in keys])

    def seal(self, value: BaseModel | dict[str, Any]) -> str:
        data = reveal(value) if isinstance(value, BaseModel) else value
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def unseal(self, token: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise VaultError(
                "a stored secret cannot be opened with API_CREDENTIALS_KEY "
                "(or API_PREVIOUS_CREDENTIALS_KEYS)"
            ) from exc
        return data

    def rotate(self, token: str) -> str:
        """The same secret sealed with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("a stored secret cannot be opened with any key given") from exc


def parse_keys(value: str) -> list[SecretStr]:
    """Comma-separated Fernet keys, each checked."""
    keys = [SecretStr(part.strip()) for part in value.split(",") if part.strip()]
    for key in keys:
        try:
            Fernet(key.get_secret_value().encode())
        except ValueError:
            raise ValueError("a credentials key is not a valid Fernet key") from None
    return keys
