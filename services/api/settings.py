"""Api settings (env prefix `API_`)."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.api.notifications.settings import HookSettings, NotificationSettings
from services.api.sign_in_settings import SignInSettings
from services.api.volume_paths import check_volume_roots
from shared.outbound import OutboundSettings
from shared.settings import CommonSettings, SealSettings, StagingSettings

DEV_CREDENTIALS_KEY = "ZGF0YWJhc2VtZW50LWRldi1jcmVkLWtleS0wMDAwMDA="
"""Fernet key for stored passwords in development only; refused in prod."""


class ApiSettings(CommonSettings):
    """Everything the api reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore")

    http_port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP API.")
    metrics_port: int = Field(
        default=8004,
        ge=0,
        le=65535,
        description="Port of `/metrics` (and `/healthz`, `/readyz`), apart from the HTTP port "
        "so that no gateway or Ingress publishes them; 0 picks a free one.",
    )
    docs: Literal["off", "signed-in", "public"] = Field(
        default="signed-in",
        description="Who may read `/docs` and `/openapi.json`: nobody, holders of an API token "
        "or a web UI session, or anyone.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks of the gateways whose "
        "X-Forwarded-For names the client (for sign-in limits and logs); `*` trusts any.",
    )
    max_requests_in_flight: int = Field(
        default=32,
        gt=0,
        description="Backup and restore requests one replica accepts at once; the next is "
        "refused at once with 503 and Retry-After instead of waiting in a growing queue.",
    )
    max_loop_lag: float = Field(
        default=0.2,
        gt=0,
        description="Seconds the event loop may run behind before backup and restore "
        "requests are refused with 503 and Retry-After (they would wait longer still).",
    )
    max_accept_wait: float = Field(
        default=0.5,
        gt=0,
        description="Seconds a backup or restore request may take before it is stored; one "
        "later than this is refused with 503 and Retry-After, nothing stored, so every answer "
        "comes in about a second.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body the api reads; a larger one is refused with 413 "
        "(counted while it streams, not only from Content-Length).",
    )
    schema_name: str = Field(
        default="api", pattern=r"^[a-z_][a-z0-9_]*$", description="Its PostgreSQL schema."
    )
    credentials_key: SecretStr = Field(
        default=SecretStr(DEV_CREDENTIALS_KEY),
        description="Fernet key encrypting stored server passwords and volume secrets.",
    )
    previous_credentials_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated keys stored secrets may still be sealed with, during a "
        "key rotation (`python -m services.api rotate-credentials-key`).",
    )
    new_credentials_key: SecretStr | None = Field(
        default=None,
        description="Only for `rotate-credentials-key`: the key to re-encrypt stored secrets with.",
    )
    query_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the catalog to answer a query."
    )
    test_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a connection or volume test."
    )
    usage_timeout: float = Field(
        default=1.5,
        gt=0,
        description="Seconds to wait for a volume's usage; past it, the usage fields are null.",
    )
    database_list_ttl: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a server's database list is reused to check backup requests; an "
        "older one still answers for the databases it names while a fresh one is fetched.",
    )
    outbox_interval: float = Field(
        default=0.5, gt=0, description="Seconds between outbox relay passes when idle."
    )
    scheduler_interval: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between the scheduler's looks for due backup configurations "
        "(it also wakes for the nearest slot).",
    )
    retention_interval: float = Field(
        default=600.0,
        ge=0,
        description="Seconds between automatic retention passes, which prune every enabled "
        "backup configuration once across replicas (docs/retention.md); 0 turns them off.",
    )
    ui_session_hours: float = Field(
        default=12.0, gt=0, description="Hours a web UI sign-in lasts before asking again."
    )
    ui_secure_cookie: bool = Field(
        default=False,
        description="Mark the web UI's session cookie Secure (set it when serving over TLS).",
    )
    local_volume_roots: Annotated[list[Path], NoDecode] = Field(
        default=[Path("var/volumes")],
        description="Comma-separated directories local volumes must lie under (symlinks and "
        "`..` resolved; never `/`); a path elsewhere, or overlapping the staging area, is "
        "refused with 422. Relative ones are taken from the api's working directory.",
    )
    seal: SealSettings = Field(default_factory=SealSettings)
    notify: NotificationSettings = Field(default_factory=NotificationSettings)
    login: SignInSettings = Field(default_factory=SignInSettings)
    hooks: HookSettings = Field(default_factory=HookSettings)
    staging: StagingSettings = Field(default_factory=StagingSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    """Read only to keep local volumes out of the staging area."""

    @field_validator("local_volume_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("local_volume_roots")
    @classmethod
    def _no_root_of_everything(cls, value: list[Path]) -> list[Path]:
        return check_volume_roots(value)
