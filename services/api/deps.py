"""What routes need, as `Annotated` dependency aliases (STYLE.md rule 11)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.adapters.broker import BrokerLink
from services.api.adapters.configs import BackupConfigRepository
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.locks import SnapshotLocks
from services.api.adapters.outbox import BackupRequests, Outbox
from services.api.adapters.restores import RestoreRequests
from services.api.adapters.retention import RetentionConfigs
from services.api.adapters.tokens import TokenRepository
from services.api.databases import DatabaseLists
from services.api.errors import UnauthenticatedError
from services.api.keys import Keys
from services.api.notifications.hook_catalog import HookCatalog
from services.api.notifications.quota import QuotaHooks, quota_hooks
from services.api.settings import ApiSettings
from services.api.tokens import token_hash
from services.api.workers.relay import OutboxRelay
from shared.service import Runtime

T = TypeVar("T")


def on_loop(getter: Callable[[Request], T]) -> Callable[[Request], Awaitable[T]]:
    """`getter` as a dependency that runs on the event loop.

    FastAPI runs a plain `def` dependency in a worker thread: a thread hop for each one of a
    request's dependencies, which under a burst cost more than the request's own work. The
    getters only read app.state, so they never block.
    """

    async def dependency(request: Request) -> T:
        return getter(request)

    dependency.__name__ = getter.__name__
    return dependency


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_servers(request: Request) -> ServerRepository:
    return ServerRepository(_runtime(request).pool, get_settings(request).schema_name)


def get_volumes(request: Request) -> VolumeRepository:
    return VolumeRepository(_runtime(request).pool, get_settings(request).schema_name)


def get_requests(request: Request) -> BackupRequests:
    return BackupRequests(_runtime(request).pool, get_settings(request).schema_name)


def get_restore_requests(request: Request) -> RestoreRequests:
    return RestoreRequests(_runtime(request).pool, get_settings(request).schema_name)


def get_outbox(request: Request) -> Outbox:
    return Outbox(_runtime(request).pool, get_settings(request).schema_name)


def get_locks(request: Request) -> SnapshotLocks:
    return SnapshotLocks(_runtime(request).pool, get_settings(request).schema_name)


def get_tokens(request: Request) -> TokenRepository:
    return TokenRepository(_runtime(request).pool, get_settings(request).schema_name)


def get_configs(request: Request) -> BackupConfigRepository:
    return BackupConfigRepository(_runtime(request).pool, get_settings(request).schema_name)


def get_retention_configs(request: Request) -> RetentionConfigs:
    return RetentionConfigs(_runtime(request).pool, get_settings(request).schema_name)


def get_hooks(request: Request) -> HookCatalog:
    found: HookCatalog = request.app.state.hooks
    return found


def get_quota_hooks(request: Request) -> QuotaHooks:
    return quota_hooks(_runtime(request).pool, get_settings(request).schema_name)


def get_database_lists(request: Request) -> DatabaseLists:
    lists: DatabaseLists = request.app.state.database_lists
    return lists


def get_link(request: Request) -> BrokerLink:
    link: BrokerLink = request.app.state.link
    return link


def get_relay(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.relay
    return relay


def get_keys(request: Request) -> Keys:
    keys: Keys = request.app.state.keys
    return keys


bearer = HTTPBearer(auto_error=False, description="An API token: `dbm_...`.")


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UUID:
    """The id of the caller's live token; 401 for a missing, unknown or revoked one."""
    if credentials is None or not credentials.credentials:
        raise UnauthenticatedError
    token_id = await get_tokens(request).authenticate(token_hash(credentials.credentials))
    if token_id is None:
        raise UnauthenticatedError
    return token_id


Authenticated = Depends(require_token)
"""Applied to every /api/v1 router."""

Settings = Annotated[ApiSettings, Depends(on_loop(get_settings))]
Servers = Annotated[ServerRepository, Depends(on_loop(get_servers))]
Volumes = Annotated[VolumeRepository, Depends(on_loop(get_volumes))]
Requests = Annotated[BackupRequests, Depends(on_loop(get_requests))]
Restores = Annotated[RestoreRequests, Depends(on_loop(get_restore_requests))]
Link = Annotated[BrokerLink, Depends(on_loop(get_link))]
Relay = Annotated[OutboxRelay, Depends(on_loop(get_relay))]
SecretKeys = Annotated[Keys, Depends(on_loop(get_keys))]
OutboxTable = Annotated[Outbox, Depends(on_loop(get_outbox))]
Tokens = Annotated[TokenRepository, Depends(on_loop(get_tokens))]
Lists = Annotated[DatabaseLists, Depends(on_loop(get_database_lists))]
Locks = Annotated[SnapshotLocks, Depends(on_loop(get_locks))]
Configs = Annotated[BackupConfigRepository, Depends(on_loop(get_configs))]
RetentionConfigList = Annotated[RetentionConfigs, Depends(on_loop(get_retention_configs))]
Hooks = Annotated[HookCatalog, Depends(on_loop(get_hooks))]
"""The operator's hooks, read from API_HOOKS_FILE at start-up."""
OverQuotaHooks = Annotated[QuotaHooks, Depends(on_loop(get_quota_hooks))]
"""Over-quota hooks that notify the channels of the configurations writing to a volume."""
