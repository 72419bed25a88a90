"""Notification channels: register, change, forget, send a test; secrets go in, never out."""

from urllib.parse import urlsplit
from uuid import UUID, uuid4

from pydantic import SecretStr, ValidationError

from services.api.adapters.channels import Channel, ChannelRepository
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
    TestResult,
)
from services.api.notifications.senders import SendError, send
from services.api.vault import Vault
from shared.events import utc_now
from shared.logging import get_logger
from shared.outbound import OutboundPolicy, OutboundRefusedError

log = get_logger(__name__)


def public_channel(channel: Channel, vault: Vault) -> ChannelPublic:
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


async def find_channel(channel_id: UUID, channels: ChannelRepository) -> Channel:
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


async def register_channel(
    body: ChannelCreate, *, channels: ChannelRepository, vault: Vault, policy: OutboundPolicy
) -> Channel:
    """A new channel, its secrets sealed; a URL the outbound policy refuses is refused."""
    _check_url(body.config, policy)
    public, secrets = split_config(body.type, body.config)
    channel = Channel(
        id=uuid4(),
        name=body.name,
        type=body.type,
        config=public,
        secrets_sealed=vault.seal(secrets),
        created_at=utc_now(),
    )
    await channels.add(channel)
    log.info(
        "notification_channel_registered", channel_id=str(channel.id), channel_type=channel.type
    )
    return channel


async def update_channel(
    channel_id: UUID,
    body: ChannelUpdate,
    *,
    channels: ChannelRepository,
    vault: Vault,
    policy: OutboundPolicy,
) -> Channel:
    """The channel renamed, and/or with its whole config replaced (same type)."""
    channel = await find_channel(channel_id, channels)
    config, sealed = channel.config, channel.secrets_sealed
    if body.config is not None:
        try:
            parsed = parse_config(channel.type, body.config)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) or "config" for e in exc.errors())
            raise InvalidRequestError(f"invalid {channel.type} config: {fields}") from None
        _check_url(parsed, policy)
        config, secrets = split_config(channel.type, parsed)
        sealed = vault.seal(secrets)
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
    return changed


async def delete_channel(channel_id: UUID, channels: ChannelRepository) -> None:
    if not await channels.delete(channel_id):
        raise NotFoundError(f"notification channel {channel_id} does not exist")
    log.info("notification_channel_deleted", channel_id=str(channel_id))


async def test_channel(
    channel_id: UUID,
    *,
    channels: ChannelRepository,
    vault: Vault,
    seconds: float,
    policy: OutboundPolicy,
) -> TestResult:
    """Send a test notification now, not through the queue, and say how it went."""
    channel = await find_channel(channel_id, channels)
    config = channel.config | vault.unseal(channel.secrets_sealed)
    body = payload("test", {"channel": channel.name}, occurred_at=utc_now())
    try:
        await send(channel.type, config, body, seconds=seconds, outbound=policy)
    except SendError as exc:
        return TestResult(ok=False, error=str(exc))
    return TestResult(ok=True)
