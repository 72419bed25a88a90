"""The two keys the api seals secrets with."""

from dataclasses import dataclass

from services.api.vault import Vault
from shared.sealing import Sealer


@dataclass(frozen=True)
class Keys:
    """The vault seals secrets at rest (API_CREDENTIALS_KEY); the sealer seals them for
    the dumper and uploader inside events (SEAL_KEY)."""

    vault: Vault
    sealer: Sealer
