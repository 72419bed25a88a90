"""Dumper settings (env prefix `DUMPER_`)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.encryption import Keyring, KeyringError, parse_keyring
from shared.outbound import OutboundSettings
from shared.settings import CommonSettings, SealSettings, StagingSettings

MIB = 1024 * 1024
S3_MIN_PART_SIZE = 5 * MIB
"""S3 refuses multipart parts below 5 MiB (except the last), so a chunk never is smaller."""
S3_MAX_PART_SIZE = 5 * 1024 * MIB
"""S3 refuses multipart parts above 5 GiB."""
S3_MAX_PARTS = 10_000
"""S3 numbers multipart parts 1 to 10,000."""


class DumperSettings(CommonSettings):
    """Everything the dumper reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="DUMPER_", extra="ignore")

    http_port: int = Field(default=8001, ge=0, le=65535, description="Port of /healthz etc.")
    schema_name: str = Field(
        default="dumper", pattern=r"^[a-z_][a-z0-9_]*$", description="Its PostgreSQL schema."
    )
    staging: StagingSettings = Field(default_factory=StagingSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    seal: SealSettings = Field(default_factory=SealSettings)

    block_size: int = Field(
        default=4 * MIB,
        ge=1,
        description="Uncompressed bytes of dump output compressed as one gzip member or zstd "
        "frame; blocks compress in parallel.",
    )
    min_part_size: int = Field(
        default=8 * MIB,
        description="Compressed bytes a staged chunk reaches before it is cut (every chunk "
        "but the last); at least 5 MiB, the smallest S3 multipart part.",
    )
    max_part_size: int = Field(
        default=256 * MIB,
        description="The largest a staged chunk grows for a big backup. Chunks grow with the "
        "expected size so an S3 artifact stays within DUMPER_MAX_PARTS parts; 256 MiB x "
        "10,000 allows about 2.4 TiB. The dumper holds about two chunks in memory at once.",
    )
    max_parts: int = Field(
        default=S3_MAX_PARTS,
        ge=1,
        le=S3_MAX_PARTS,
        description="Parts an artifact on an S3 volume may have (S3 allows 10,000); lowered "
        "only to test part sizing. Local volumes have no limit.",
    )
    max_staged_chunks: int = Field(
        default=4,
        ge=1,
        description="Chunks of one backup staged and not yet stored before the dumper waits "
        "(back-pressure).",
    )
    gzip_engine: Literal["isal", "zlib"] = Field(
        default="isal",
        description="Library writing gzip members: ISA-L igzip (fast) or the stdlib zlib.",
    )
    isal_level: int = Field(default=2, ge=0, le=3, description="ISA-L compression level.")
    zlib_level: int = Field(default=6, ge=1, le=9, description="zlib compression level.")
    zstd_level: int = Field(default=3, ge=1, le=22, description="zstd compression level.")
    threads: int = Field(
        default=0,
        ge=0,
        description="Compression threads; 0 means one per CPU core.",
    )
    tool_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds the dump tool may stay silent (no output) before it is killed "
        "and the backup fails.",
    )
    stall_timeout: float = Field(
        default=900.0,
        gt=0,
        description="Seconds the dumper waits for the uploader to take staged chunks before "
        "the backup fails.",
    )
    connect_timeout: int = Field(
        default=15, ge=1, description="Seconds to reach a database server before giving up."
    )
    server_concurrency: int = Field(
        default=1,
        ge=1,
        description="Dumps of one database server running at once across every dumper replica; "
        "a backup that finds them all busy waits in the postponed queue.",
    )
    server_busy_delay: float = Field(
        default=2.0,
        gt=0,
        description="Seconds a backup whose server is busy waits before it is tried again.",
    )
    lease_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a running backup or restore may go without renewing its job lease "
        "(renewed 4 times per timeout) before a redelivery takes it over as a new attempt; "
        "the takeover after a crashed dumper waits this long.",
    )
    lease_recheck_delay: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a redelivered backup or restore that is still running elsewhere "
        "waits in the postponed queue before it is checked again.",
    )
    progress_interval: float = Field(
        default=1.0,
        ge=0.1,
        description="Seconds between DumpProgressed events (the heartbeat) while a dump runs.",
    )
    postgres_bin_glob: str = Field(
        default="/usr/lib/postgresql/*/bin",
        description="Directories searched first for pg_dump of several major versions.",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="Master keys for encryption at rest, `id:base64key[,id:base64key]` (32-byte "
        "keys; `databasement keys generate` makes one). The first wraps new data keys, every "
        "one unwraps: rotate by putting a new key first (docs/encryption.md).",
    )
    tool_path: str = Field(
        default="",
        description="Directories (colon-separated) searched for dump tools after "
        "postgres_bin_glob; empty means the PATH.",
    )

    @model_validator(mode="after")
    def _part_size_fits_s3(self) -> "DumperSettings":
        if self.min_part_size < S3_MIN_PART_SIZE:
            msg = "DUMPER_MIN_PART_SIZE must be at least 5 MiB (5242880), S3's smallest part"
            raise ValueError(msg)
        if not self.min_part_size <= self.max_part_size <= S3_MAX_PART_SIZE:
            msg = (
                "DUMPER_MAX_PART_SIZE must lie between DUMPER_MIN_PART_SIZE and 5 GiB "
                "(5368709120), S3's largest part"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _master_keys_parse(self) -> "DumperSettings":
        self.keyring()
        return self

    def keyring(self) -> Keyring | None:
        """The master keyring, None when no key is configured."""
        if self.master_keys is None or not self.master_keys.get_secret_value().strip():
            return None
        try:
            return parse_keyring(self.master_keys.get_secret_value(), source="DUMPER_MASTER_KEYS")
        except KeyringError as exc:
            raise ValueError(str(exc)) from None

    def compression_threads(self, cpu_count: int | None) -> int:
        """How many blocks compress at once."""
        return self.threads or max(cpu_count or 1, 1)

    @property
    def search_dirs(self) -> list[Path]:
        """Directories of `tool_path`, in order."""
        return [Path(p) for p in self.tool_path.split(":") if p]
