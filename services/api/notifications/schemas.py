"""Bodies of /api/v1/notification-channels and /api/v1/overdue. Secrets go in, never out."""

import ssl
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from services.api.schemas._text import Host, NoNul, Text

ChannelType = Literal["webhook", "email", "slack"]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.\- ]*$")]
Address = Annotated[
    str,
    Field(min_length=3, max_length=320, pattern=r"^[^\x00-\x20\x7f<>,;]+@[^\x00-\x20\x7f<>,;@]+$"),
]
Secret = Annotated[SecretStr, NoNul]


class WebhookConfig(BaseModel):
    """A generic webhook: JSON POSTed to `url`, signed with `secret` (HMAC-SHA256)."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(examples=["https://ops.example.com/hooks/databasement"])
    secret: Secret = Field(
        min_length=16, description="Shared secret of the signature; stored encrypted."
    )


class SlackConfig(BaseModel):
    """A Slack-compatible incoming webhook: `{"text": ...}` POSTed to `url`."""

    model_config = ConfigDict(extra="forbid")

    url: Secret = Field(
        description="The incoming-webhook URL (it is the credential: stored encrypted).",
        examples=["https://hooks.slack.com/services/T000/B000/XXXX"],
    )


class EmailConfig(BaseModel):
    """Mail through an SMTP server, upgraded with STARTTLS, authenticated when a user is set."""

    model_config = ConfigDict(extra="forbid")

    host: Host = Field(examples=["smtp.example.com"])
    port: int = Field(default=587, ge=1, le=65535)
    username: Text | None = Field(default=None, examples=["databasement"])
    password: Secret | None = Field(default=None, description="Stored encrypted.")
    from_address: Address = Field(examples=["databasement@example.com"])
    to: list[Address] = Field(min_length=1, max_length=50, examples=[["ops@example.com"]])
    starttls: bool = Field(default=True, description="Refuse to send unless STARTTLS succeeds.")
    tls_ca: Annotated[str, NoNul] | None = Field(
        default=None, description="PEM of a CA to trust for this server (else the system's)."
    )

    @field_validator("tls_ca")
    @classmethod
    def _is_pem(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError, TypeError):  # TypeError: not ASCII
            raise ValueError("tls_ca is not a PEM certificate") from None
        return value


class WebhookChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    type: Literal["webhook"]
    config: WebhookConfig


class SlackChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    type: Literal["slack"]
    config: SlackConfig


class EmailChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    type: Literal["email"]
    config: EmailConfig


ChannelCreate = Annotated[
    WebhookChannelCreate | SlackChannelCreate | EmailChannelCreate, Field(discriminator="type")
]
AnyChannelConfig = WebhookConfig | SlackConfig | EmailConfig


class ChannelUpdate(BaseModel):
    """A new name, and/or a whole new config of the same type (secrets included)."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    config: dict[str, Any] | None = None


class ChannelPublic(BaseModel):
    """A channel as shown: its config without secrets (`*_set` says whether one is stored)."""

    id: UUID
    name: str
    type: ChannelType
    config: dict[str, Any] = Field(
        examples=[{"url": "https://ops.example.com/h", "secret_set": True}]
    )
    created_at: datetime


class DeliveryPublic(BaseModel):
    """One notification queued for a channel, and how its sending went."""

    id: int
    kind: str = Field(examples=["backup_failed"])
    payload: dict[str, Any] = Field(description="The JSON a webhook receives.")
    attempts: int = Field(description="Tries so far.")
    next_attempt_at: datetime = Field(description="When it is tried next, if not done.")
    delivered_at: datetime | None
    given_up_at: datetime | None = Field(description="Set after the last allowed try failed.")
    last_error: str | None = Field(examples=["cannot reach ops.example.com (ConnectError)"])
    created_at: datetime


class TestResult(BaseModel):
    """The outcome of sending a test message now, without the queue."""

    ok: bool
    error: str | None = Field(default=None, examples=["connection refused by 127.0.0.1:9"])


class OverdueEntry(BaseModel):
    """A database that has had no completed snapshot within its configuration's RPO."""

    config_id: UUID
    config_name: str
    server: str = Field(description="The server's name.")
    database: str
    last_success_at: datetime | None = Field(description="Its last completed snapshot, if any.")
    overdue_since: datetime = Field(description="When the RPO was first found missed.")
