"""Limits on web UI sign-in attempts (env prefix `API_LOGIN_`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SignInSettings(BaseSettings):
    """How many wrong passwords a client address or a user name may send, and how many
    password checks (32 MiB of scrypt each) run at once on one replica."""

    model_config = SettingsConfigDict(env_prefix="API_LOGIN_", extra="ignore")

    failures_allowed: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords from one client address, or for one user name, before "
        "sign-in is refused with 429 for a while.",
    )
    lockout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds of the first refusal; each further wrong password doubles it, "
        "up to the window.",
    )
    window_seconds: float = Field(
        default=900.0,
        gt=0,
        description="Seconds a wrong password is remembered (and the longest refusal).",
    )
    concurrent_checks: int = Field(
        default=2,
        ge=1,
        description="Password checks one api replica runs at once; more wait, then get 503.",
    )
    check_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a sign-in waits for a free password check before 503.",
    )
