"""What routes need, as `Annotated` dependency aliases (STYLE.md rule 11)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.api.adapters.broker import BrokerLink
from services.api.adapters.db import ServerRepository, VolumeRepository
from services.api.adapters.outbox import BackupRequests
from services.api.relay import OutboxRelay
from services.api.settings import ApiSettings
from shared.sealing import Sealer
from shared.service import Runtime


@dataclass(frozen=True)
class Keys:
    """The vault seals secrets at rest (API_CREDENTIALS_KEY); the sealer seals them for
    the dumper and uploader inside events (SEAL_KEY)."""

    vault: Sealer
    sealer: Sealer


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


def get_link(request: Request) -> BrokerLink:
    link: BrokerLink = request.app.state.link
    return link


def get_relay(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.relay
    return relay


def get_keys(request: Request) -> Keys:
    keys: Keys = request.app.state.keys
    return keys


Settings = Annotated[ApiSettings, Depends(get_settings)]
Servers = Annotated[ServerRepository, Depends(get_servers)]
Volumes = Annotated[VolumeRepository, Depends(get_volumes)]
Requests = Annotated[BackupRequests, Depends(get_requests)]
Link = Annotated[BrokerLink, Depends(get_link)]
Relay = Annotated[OutboxRelay, Depends(get_relay)]
SecretKeys = Annotated[Keys, Depends(get_keys)]
