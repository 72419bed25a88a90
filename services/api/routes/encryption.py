"""/api/v1/encryption: master-key rotation (docs/encryption.md).

The api holds no master key. It asks the catalog for every completed encrypted snapshot and
queues one KeysRewrapRequested per stored copy through its outbox; the dumper, which holds
the keyring, re-wraps each data key with its active master key and rewrites the manifest.
"""

from fastapi import APIRouter, status

from services.api.deps import Authenticated, Link, OutboxTable, Relay, SecretKeys, Volumes
from services.api.schemas.encryption import KeyUsage, RewrapAccepted
from services.api.usecases import encryption as usecases

router = APIRouter(prefix="/api/v1/encryption", tags=["encryption"], dependencies=[Authenticated])


@router.post("/rewrap", status_code=status.HTTP_202_ACCEPTED)
async def rewrap(
    *, link: Link, volumes: Volumes, outbox: OutboxTable, relay: Relay, keys: SecretKeys
) -> RewrapAccepted:
    """Re-wrap every encrypted snapshot's data key with the dumper's active master key.

    Rotate by putting a new key FIRST in DUMPER_MASTER_KEYS (keeping the old ones), restarting
    the dumpers, then calling this. Only manifests are rewritten, never the data. Once every
    copy is re-wrapped (each snapshot's manifest names the new `key_id`), the old keys can
    leave the keyring. Safe to call again.
    """
    return await usecases.rewrap_keys(
        link=link, volumes=volumes, outbox=outbox, relay=relay, keys=keys
    )


@router.get("/keys")
async def key_usage(*, link: Link) -> KeyUsage:
    """Completed encrypted snapshots counted by the master key that wraps their data key.

    After `POST /api/v1/encryption/rewrap`, a key may leave DUMPER_MASTER_KEYS once it counts
    no snapshot (copies on volumes that were unreachable keep the old key: see their
    snapshots' timelines for KeysRewrapFailed).
    """
    return await usecases.key_usage(link)
