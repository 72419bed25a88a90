"""/api/v1/notification-channels (secrets go in, never out) and /api/v1/overdue."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request, Response, status

from services.api.adapters.channels import ChannelRepository
from services.api.deps import Authenticated, SecretKeys, Settings, get_settings, on_loop
from services.api.notifications.schemas import (
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPublic,
    OverdueEntry,
    TestResult,
)
from services.api.notifications.settings import NotificationSettings
from services.api.usecases import channels as usecases
from services.api.usecases.overdue import overdue_entries

router = APIRouter(
    prefix="/api/v1/notification-channels", tags=["notifications"], dependencies=[Authenticated]
)
overdue_router = APIRouter(
    prefix="/api/v1/overdue", tags=["notifications"], dependencies=[Authenticated]
)


def get_channels(request: Request) -> ChannelRepository:
    return ChannelRepository(request.app.state.runtime.pool, get_settings(request).schema_name)


def get_notification_settings(request: Request) -> NotificationSettings:
    found: NotificationSettings = request.app.state.notification_settings
    return found


Channels = Annotated[ChannelRepository, Depends(on_loop(get_channels))]
NotifySettings = Annotated[NotificationSettings, Depends(on_loop(get_notification_settings))]


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
    channel = await usecases.register_channel(
        body, channels=channels, vault=keys.vault, policy=api_settings.outbound.policy()
    )
    return usecases.public_channel(channel, keys.vault)


@router.get("")
async def list_channels(channels: Channels, keys: SecretKeys) -> list[ChannelPublic]:
    """Every notification channel, by name, without secrets."""
    return [usecases.public_channel(c, keys.vault) for c in await channels.by_name()]


@router.get("/{channel_id}")
async def get_channel(channel_id: UUID, channels: Channels, keys: SecretKeys) -> ChannelPublic:
    """One notification channel, without secrets."""
    channel = await usecases.find_channel(channel_id, channels)
    return usecases.public_channel(channel, keys.vault)


@router.patch("/{channel_id}")
async def update_channel(
    channel_id: UUID,
    body: ChannelUpdate,
    channels: Channels,
    keys: SecretKeys,
    api_settings: Settings,
) -> ChannelPublic:
    """Rename a channel, and/or replace its whole config (same type, secrets included)."""
    changed = await usecases.update_channel(
        channel_id, body, channels=channels, vault=keys.vault, policy=api_settings.outbound.policy()
    )
    return usecases.public_channel(changed, keys.vault)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(channel_id: UUID, channels: Channels) -> Response:
    """Forget a channel and its queued deliveries. Configurations naming it skip it."""
    await usecases.delete_channel(channel_id, channels)
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
    return await usecases.test_channel(
        channel_id,
        channels=channels,
        vault=keys.vault,
        seconds=settings.send_timeout,
        policy=api_settings.outbound.policy(),
    )


@router.get("/{channel_id}/deliveries")
async def list_deliveries(channel_id: UUID, channels: Channels) -> list[DeliveryPublic]:
    """The channel's latest 50 deliveries: attempts, next try, delivered or given up, last error."""
    await usecases.find_channel(channel_id, channels)
    return [DeliveryPublic.model_validate(row) for row in await channels.deliveries(channel_id)]


@overdue_router.get("")
async def get_overdue(request: Request, settings: Settings) -> list[OverdueEntry]:
    """Databases with no completed snapshot within their configuration's RPO, oldest first."""
    return await overdue_entries(request.app.state.runtime.pool, settings.schema_name)
