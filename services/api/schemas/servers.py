"""Bodies of /api/v1/servers."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.events import ServerType


class ServerCreate(BaseModel):
    """A database server to register; the password is stored encrypted, never returned."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["prod-db"])
    type: ServerType = Field(examples=["postgresql"])
    host: str = Field(min_length=1, max_length=255, examples=["db.internal"])
    port: int = Field(ge=1, le=65535, examples=[5432])
    username: str = Field(min_length=1, max_length=255, examples=["backup"])
    password: SecretStr = Field(examples=["s3cret"])
    database: str | None = Field(
        default=None, min_length=1, description="A database to connect to, when needed."
    )


class ServerPublic(BaseModel):
    """A registered server as the api shows it: everything but the password."""

    id: UUID
    name: str
    type: ServerType
    host: str
    port: int
    username: str
    database: str | None
    created_at: datetime
