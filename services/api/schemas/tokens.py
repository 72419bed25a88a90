"""Bodies of /api/v1/tokens."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas._text import Name


class TokenCreate(BaseModel):
    """A new API token, named for whoever or whatever will use it."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["ci"])


class TokenPublic(BaseModel):
    """A token as listed: never the token itself."""

    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most every 30 s.")
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """The answer to creating a token: the only time the token is shown."""

    token: str = Field(description="`Authorization: Bearer <token>`; store it now.")
