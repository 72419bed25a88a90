"""/api/v1/notification-channels (secrets go in, never out) and /api/v1/overdue."""

from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Request, Response, status
from pydantic import SecretStr, ValidationError

from services.api.adapters.channels import Channel, ChannelRepository
from services.api.adapters.overdue import list_overdue
from services.api.deps import Authenticated, SecretKeys, Settings, get_settings
from services.api.errors import InvalidRequestError, NotFoundError
from services.api.notifications.channels import (
    SECRET_FIELDS,
    parse_config,
    public_view,
    split_config,
)
from services.api.notifications.messages import payload
from services.api.notifications.schemas import (
    AnyChannelConfig,
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPublic,
    OverdueEntry,
    TestResult,
)
from services.api.notifications.senders import SendError, send
from services.api.notifications.settings import NotificationSettings
from services.api.vault import Vault
from shared.events import utc_now
from shared.logging import get_logger
from shared.outbound import OutboundPolicy, OutboundRefusedError

router = APIRouter(
    prefix="/api/v1/notification-channels", tags=["notifications"], dependencies=[Authenticated]
)
overdue_router = APIRouter(
    prefix="/api/v1/overdue", tags=["notifications"], dependencies=[Authenticated]
)
log = get_logger(__name__)


def get_channels(request: Request) -> ChannelRepository:
    return ChannelRepository(request.app.state.runtime.pool, get_settings(request).schema_name)


def get_notification_settings(request: Request) -> NotificationSettings:
    found: NotificationSettings = request.app.state.notification_settings
    return found


Channels = Annotated[ChannelRepository, Depends(get_channels)]
NotifySettings = Annotated[NotificationSettings, Depends(get_notification_settings)]


def _public(channel: Channel, vault: Vault) -> ChannelPublic:
    present = set(SECRET_FIELDS[channel.type]) & {
        name for name, value in vault.unseal(channel.secrets_sealed).items() if value
    }
    return ChannelPublic(
        id=channel.id,
        name=channel.name,
        type=channel.type,
        config=public_view(channel.type, channel.config, present),
        created_at=channel.created_at,
    )


async def _channel(channel_id: UUID, channels: ChannelRepository) -> Channel:
    channel = await channels.get(channel_id)
    if channel is None:
        raise NotFoundError(f"notification channel {channel_id} does not exist")
    return channel


def _check_url(config: AnyChannelConfig, policy: OutboundPolicy) -> None:
    url = getattr(config, "url", None)
    if url is None:
        return
    text = url.get_secret_value() if isinstance(url, SecretStr) else str(url)
    try:
        policy.check_host(urlsplit(text).hostname or "")
    except OutboundRefusedError as exc:  # names the host only: a Slack URL is a credential
        raise InvalidRequestError(f"url: {exc}") from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(
    body: Annotated[ChannelCreate, Body()],
    channels: Channels,
    keys: SecretKeys,
    api_settings: Settings,
) -> ChannelPublic:
    """Register a notification channel: a signed webhook, a Slack-compatible incoming webhook,
    or SMTP mail. Secrets (webhook secret, Slack URL, SMTP password) are stored encrypted and
    never returned. A URL to a link-local or cloud metadata address is refused (422) unless
    `OUTBOUND_ALLOW` allows it."""
    _check_url(body.config, api_settings.outbound.policy())
    public, secrets = split_config(body.type, body.config)
    channel = Channel(
        id=uuid4(),
        name=body.name,
        type=body.type,
        config=public,
        secrets_sealed=keys.vault.seal(secrets),
        created_at=utc_now(),
    )
    await channels.add(channel)
    log.info(
        "notification_channel_registered", channel_id=str(channel.id), channel_type=channel.type
    )
    return _public(channel, keys.vault)


@router.get("")
async def list_channels(channels: Channels, keys: SecretKeys) -> list[ChannelPublic]:
    """Every notification channel, by name, without secrets."""
    return [_public(channel, keys.vault) for channel in await channels.by_name()]


@router.get("/{channel_id}")
async def get_channel(channel_id: UUID, channels: Channels, keys: SecretKeys) -> ChannelPublic:
    """One notification channel, without secrets."""
    return _public(await _channel(channel_id, channels), keys.vault)


@router.patch("/{channel_id}")
async def update_channel(
    channel_id: UUID,
    body: ChannelUpdate,
    channels: Channels,
    keys: SecretKeys,
    api_settings: Settings,
) -> ChannelPublic:
    """Rename a channel, and/or replace its whole config (same type, secrets included)."""
    channel = await _channel(channel_id, channels)
    config, sealed = channel.config, channel.secrets_sealed
    if body.config is not None:
        try:
            parsed = parse_config(channel.type, body.config)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) or "config" for e in exc.errors())
            raise InvalidRequestError(f"invalid {channel.type} config: {fields}") from None
        _check_url(parsed, api_settings.outbound.policy())
        config, secrets = split_config(channel.type, parsed)
        sealed = keys.vault.seal(secrets)
    changed = Channel(
        id=channel.id,
        name=body.name or channel.name,
        type=channel.type,
        config=config,
        secrets_sealed=sealed,
        created_at=channel.created_at,
    )
    await channels.update(changed)
    log.info("notification_channel_updated", channel_id=str(channel_id))
    return _public(changed, keys.vault)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(channel_id: UUID, channels: Channels) -> Response:
    """Forget a channel and its queued deliveries. Configurations naming it skip it."""
    if not await channels.delete(channel_id):
        raise NotFoundError(f"notification channel {channel_id} does not exist")
    log.info("notification_channel_deleted", channel_id=str(channel_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{channel_id}/test")
async def test_channel(
    channel_id: UUID,
    channels: Channels,
    keys: SecretKeys,
    settings: NotifySettings,
    api_settings: Settings,
) -> TestResult:
    """Send a test notification now (not through the queue) and say how it went."""
    channel = await _channel(channel_id, channels)
    config = channel.config | keys.vault.unseal(channel.secrets_sealed)
    body = payload("test", {"channel": channel.name}, occurred_at=utc_now())
    try:
        await send(
            channel.type,
            config,
            body,
            seconds=settings.send_timeout,
            outbound=api_settings.outbound.policy(),
        )
    except SendError as exc:
        return TestResult(ok=False, error=str(exc))
    return TestResult(ok=True)


@router.get("/{channel_id}/deliveries")
async def list_deliveries(channel_id: UUID, channels: Channels) -> list[DeliveryPublic]:
    """The channel's latest 50 deliveries: attempts, next try, delivered or given up, last error."""
    await _channel(channel_id, channels)
    return [DeliveryPublic.model_validate(row) for row in await channels.deliveries(channel_id)]


@overdue_router.get("")
async def get_overdue(request: Request, settings: Settings) -> list[OverdueEntry]:
    """Databases with no completed snapshot within their configuration's RPO, oldest first."""
    found = await list_overdue(request.app.state.runtime.pool, settings.schema_name)
    return [OverdueEntry.model_validate(entry, from_attributes=True) for entry in found]
