"""A channel's config split into what may be shown and what is sealed at rest. Pure."""

from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from services.api.notifications.schemas import (
    AnyChannelConfig,
    EmailConfig,
    SlackConfig,
    WebhookConfig,
)

SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("secret",),
    "slack": ("url",),
    "email": ("password",),
}
CONFIG_MODELS: dict[str, type[AnyChannelConfig]] = {
    "webhook": WebhookConfig,
    "slack": SlackConfig,
    "email": EmailConfig,
}


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def split_config(
    channel_type: str, config: AnyChannelConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the config without secrets, the secrets), both JSON-ready."""
    data = {key: _plain(value) for key, value in config.model_dump(mode="python").items()}
    data = {key: str(value) if key == "url" else value for key, value in data.items()}
    secret_names = SECRET_FIELDS[channel_type]
    public = {key: value for key, value in data.items() if key not in secret_names}
    secrets = {key: value for key, value in data.items() if key in secret_names}
    return public, secrets


def public_view(
    channel_type: str, public: dict[str, Any], secrets_present: set[str]
) -> dict[str, Any]:
    """What the API shows: the public config, `<secret>_set` flags, a Slack URL's host only."""
    shown = dict(public)
    if channel_type == "email" and shown.get("tls_ca"):
        shown["tls_ca"] = "(set)"
    for name in SECRET_FIELDS[channel_type]:
        shown[f"{name}_set"] = name in secrets_present
    return shown


def slack_host(url: str) -> str:
    return urlsplit(url).hostname or ""


def parse_config(channel_type: str, data: dict[str, Any]) -> AnyChannelConfig:
    """Validate a raw config for `channel_type` (a PATCH body's `config`)."""
    return CONFIG_MODELS[channel_type].model_validate(data)
