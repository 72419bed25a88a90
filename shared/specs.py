"""What sealed specs contain: a database connection and a storage volume."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.events import ServerType

TlsMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
"""libpq's sslmode names; the dumper maps them to the MySQL client's --ssl options."""


class ConnectionSpec(BaseModel):
    """How to reach a database server; travels only sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ServerType
    host: str
    port: int = Field(ge=1, le=65535)
    username: str
    password: SecretStr
    tls_mode: TlsMode | None = Field(
        default=None, description="TLS towards the server; None leaves the tool's default."
    )
    tls_ca: str | None = Field(
        default=None, description="PEM of the CA that signed the server's certificate."
    )


class LocalVolumeConfig(BaseModel):
    """A directory on a filesystem the uploader can write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(min_length=1, description="Absolute directory holding the snapshots.")


class S3VolumeConfig(BaseModel):
    """A bucket on an S3-compatible server (AWS S3, MinIO, SeaweedFS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=1, description="host[:port] of the S3 API.")
    bucket: str = Field(min_length=3, max_length=63, description="Existing bucket name.")
    prefix: str = Field(default="", description="Key prefix inside the bucket.")
    region: str | None = Field(default=None, description="Region, when the server needs one.")
    access_key: str = Field(min_length=1, description="Access key id.")
    secret_key: SecretStr = Field(description="Secret access key; never returned.")
    secure: bool = Field(default=True, description="Use HTTPS.")


class LocalVolumeSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["local"] = "local"
    config: LocalVolumeConfig


class S3VolumeSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["s3"] = "s3"
    config: S3VolumeConfig


VolumeSpec = Annotated[LocalVolumeSpec | S3VolumeSpec, Field(discriminator="type")]


def reveal(model: BaseModel) -> dict[str, object]:
    """Dump a spec with secrets in clear, for sealing only."""

    def _open(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, BaseModel):
            return {k: _open(getattr(value, k)) for k in type(value).model_fields}
        return value

    result = _open(model)
    assert isinstance(result, dict)  # noqa: S101 - a model always opens to a dict
    return result
