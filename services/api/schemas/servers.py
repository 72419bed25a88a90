"""Bodies of /api/v1/servers."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from services.api.models import Server
from services.api.schemas._text import Host, Name, NoNul, Text
from shared.events import ServerType
from shared.specs import TlsMode

PEM_START = "-----BEGIN CERTIFICATE-----"


def _pem(value: str | None) -> str | None:
    if value is not None and PEM_START not in value:
        raise ValueError("ca must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
    return value


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\s,\x00-\x1f\x7f]+$")]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)]


class TlsOptions(BaseModel):
    """How the dumper encrypts its connection to the server."""

    model_config = ConfigDict(extra="forbid")

    mode: TlsMode = Field(
        description="As libpq's sslmode; for MySQL/MariaDB `require` and up demand TLS, "
        "`verify-ca` checks the certificate, `verify-full` also the host name.",
        examples=["verify-full"],
    )
    ca: Annotated[str | None, NoNul, AfterValidator(_pem)] = Field(
        default=None,
        max_length=65536,
        description="PEM of the CA that signed the server's certificate; null for the system's.",
    )


class ServerCreate(BaseModel):
    """A database server to register; the password is stored encrypted, never returned."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["prod-db"])
    type: ServerType = Field(examples=["postgresql"])
    host: Host = Field(examples=["db.internal"])
    port: int = Field(ge=1, le=65535, examples=[5432])
    username: Text = Field(examples=["backup"])
    password: Annotated[SecretStr, NoNul] = Field(max_length=1024, examples=["s3cret"])
    database: Text | None = Field(
        default=None, description="A database to connect to, when needed."
    )
    tags: Tags = Field(
        default_factory=list, description="Labels to find it by.", examples=[["prod"]]
    )
    tls: TlsOptions | None = Field(default=None, description="TLS options; null for the default.")


class ServerUpdate(BaseModel):
    """Fields to change; those left out stay as they are (`null` clears database and tls)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    type: ServerType | None = None
    host: Host | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    username: Text | None = None
    password: Annotated[SecretStr, NoNul] | None = Field(default=None, max_length=1024)
    database: Text | None = None
    tags: Tags | None = None
    tls: TlsOptions | None = None

    def moves_address(self, server: Server) -> bool:
        """Whether this change points `server` somewhere else: host, port or TLS mode."""
        fields = self.model_fields_set
        if self.host is not None and self.host.lower() != server.host.lower():
            return True
        if self.port is not None and self.port != server.port:
            return True
        return "tls" in fields and (self.tls.mode if self.tls else None) != server.tls_mode


class ServerPublic(BaseModel):
    """A registered server as the api shows it: everything but the password."""

    id: UUID
    name: str
    type: ServerType
    host: str
    port: int
    username: str
    database: str | None
    tags: list[str]
    tls: TlsOptions | None
    created_at: datetime

    @classmethod
    def of(cls, server: Server) -> "ServerPublic":
        tls = (
            None if server.tls_mode is None else TlsOptions(mode=server.tls_mode, ca=server.tls_ca)
        )
        return cls(
            **server.model_dump(include={"id", "name", "type", "host", "port", "username"}),
            database=server.database,
            tags=list(server.tags),
            tls=tls,
            created_at=server.created_at,
        )


class Check(BaseModel):
    """One step of a connection or volume test."""

    check: str = Field(examples=["privileges"])
    ok: bool
    detail: str = Field(examples=["missing SELECT on public.orders"])


class CheckReport(BaseModel):
    """Every check, in order; a check after a failed one reads "not checked: ..."."""

    checks: list[Check]


class ArchivingReport(BaseModel):
    """Whether the server is ready for continuous archiving (point-in-time recovery).

    Advice: a server that is not ready still passes its connection test.
    """

    ready: bool
    summary: str = Field(
        examples=[
            (
                "ready for point-in-time recovery: no: role backup lacks REPLICATION: "
                "ALTER ROLE backup REPLICATION"
            )
        ]
    )
    checks: list[Check] = Field(
        description="Each prerequisite, with what to change when it is not met; empty when "
        "the connection failed before they could be asked."
    )


class ServerCheckReport(CheckReport):
    """The connection checks, and the archiving verdict beside them."""

    archiving: ArchivingReport | None = Field(
        default=None, description="Null when the dumper that answered predates the verdict."
    )


class DatabaseList(BaseModel):
    """The server's databases, without the system ones."""

    databases: list[str] = Field(examples=[["shop", "crm"]])
