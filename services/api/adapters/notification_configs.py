"""What notifications, the RPO alarm and hooks read of backup configurations and requests.

The configurations (`backup_configs`, `snapshots_requested.config_id`) are read here as JSON
rows, so this module depends only on the field names of the contract: `name`, `server_id`,
`enabled`, `rpo_hours`, `notify` {`on`, `channel_ids`}, `post_backup_hook`,
`post_restore_hook`, `created_at`. Where those tables are missing every lookup finds nothing:
manual backups never notify.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import UndefinedColumnError, UndefinedTableError

from shared.database import Conn

SELECT_CONFIG = "SELECT to_jsonb(c) AS row FROM {schema}.backup_configs c WHERE c.id = $1"
SELECT_RPO_CONFIGS = """
SELECT to_jsonb(c) AS row, s.name AS server_name
FROM {schema}.backup_configs c JOIN {schema}.servers s ON s.id = c.server_id
WHERE c.rpo_hours IS NOT NULL AND c.rpo_hours > 0
ORDER BY c.name
"""
SELECT_ALL_CONFIGS = "SELECT to_jsonb(c) AS row FROM {schema}.backup_configs c"
SELECT_REQUEST = """
SELECT r.config_id, r.server_id, r.database, s.name AS server_name
FROM {schema}.snapshots_requested r LEFT JOIN {schema}.servers s ON s.id = r.server_id
WHERE r.id = $1
"""
SELECT_RESTORE_TARGET = """
SELECT r.database, s.name AS server_name
FROM {schema}.restores_requested r LEFT JOIN {schema}.servers s ON s.id = r.server_id
WHERE r.id = $1
"""
SELECT_FIRED_DATABASES = """
SELECT DISTINCT database FROM {schema}.snapshots_requested WHERE config_id = $1
"""
MISSING = (UndefinedTableError, UndefinedColumnError)


@dataclass(frozen=True)
class ConfigFacts:
    """The parts of a backup configuration that notifications, the alarm and hooks use."""

    id: UUID
    name: str
    server_id: UUID | None
    enabled: bool = True
    created_at: datetime | None = None
    rpo_hours: float | None = None
    notify_on: str = "failure"
    channel_ids: list[UUID] = field(default_factory=list)
    post_backup_hook: str | None = None
    post_restore_hook: str | None = None
    """Names of the operator's hooks (API_HOOKS_FILE), never commands."""
    databases: list[str] = field(default_factory=list)
    """Databases named explicitly (empty when the configuration takes all or a pattern)."""
    volume_ids: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class RequestFacts:
    """The api's own record of a requested snapshot."""

    config_id: UUID | None
    server_id: UUID
    server_name: str | None
    database: str


@dataclass(frozen=True)
class RestoreTarget:
    """Where an accepted restore writes, as the api recorded it."""

    server_name: str | None
    database: str


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _uuids(value: Any) -> list[UUID]:
    if not isinstance(value, list):
        return []
    return [UUID(str(item)) for item in value if item]


def _databases(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(name) for name in value]
    if isinstance(value, dict):
        names = value.get("names") or value.get("list") or value.get("databases")
        if isinstance(names, list) and value.get("mode", "list") == "list":
            return [str(name) for name in names]
    return []


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def config_facts(row: dict[str, Any]) -> ConfigFacts:
    """A configuration from its JSON row. Pure."""
    notify = _json(row.get("notify")) or {}
    rpo = row.get("rpo_hours")
    volumes = row.get("volume_ids") or row.get("volumes")
    return ConfigFacts(
        id=UUID(str(row["id"])),
        name=str(row.get("name") or row["id"]),
        server_id=UUID(str(row["server_id"])) if row.get("server_id") else None,
        enabled=bool(row.get("enabled", True)),
        created_at=_datetime(row.get("created_at")),
        rpo_hours=float(rpo) if rpo is not None else None,
        notify_on=str(notify.get("on") or "failure"),
        channel_ids=_uuids(notify.get("channel_ids")),
        post_backup_hook=_name(row.get("post_backup_hook")),
        post_restore_hook=_name(row.get("post_restore_hook")),
        databases=_databases(row.get("databases")),
        volume_ids=_uuids(volumes if isinstance(volumes, list) else []),
    )


@asynccontextmanager
async def _tolerant(conn: Conn) -> AsyncIterator[None]:
    """A savepoint: a missing table or column ends the lookup, not the caller's transaction."""
    try:
        async with conn.transaction():
            yield
    except MISSING:
        return


async def find_request(conn: Conn, schema: str, snapshot_id: UUID) -> RequestFacts | None:
    """The api's request of a snapshot (its config id, when a configuration fired it)."""
    row = None
    async with _tolerant(conn):
        row = await conn.fetchrow(SELECT_REQUEST.format(schema=schema), snapshot_id)
    if row is None:
        return None
    return RequestFacts(
        config_id=row["config_id"],
        server_id=row["server_id"],
        server_name=row["server_name"],
        database=row["database"],
    )


async def find_config(conn: Conn, schema: str, config_id: UUID | None) -> ConfigFacts | None:
    if config_id is None:
        return None
    value = None
    async with _tolerant(conn):
        value = await conn.fetchval(SELECT_CONFIG.format(schema=schema), config_id)
    return None if value is None else config_facts(_json(value))


async def rpo_configs(conn: Conn, schema: str) -> list[tuple[ConfigFacts, str]]:
    """Every enabled configuration with an RPO, with its server's name."""
    rows: list[Any] = []
    async with _tolerant(conn):
        rows = await conn.fetch(SELECT_RPO_CONFIGS.format(schema=schema))
    found = [(config_facts(_json(row["row"])), row["server_name"]) for row in rows]
    return [(config, server) for config, server in found if config.enabled]


async def all_configs(conn: Conn, schema: str) -> list[ConfigFacts]:
    rows: list[Any] = []
    async with _tolerant(conn):
        rows = await conn.fetch(SELECT_ALL_CONFIGS.format(schema=schema))
    return [config_facts(_json(row["row"])) for row in rows]


async def fired_databases(conn: Conn, schema: str, config_id: UUID) -> list[str]:
    """The databases a configuration has requested backups of so far."""
    rows: list[Any] = []
    async with _tolerant(conn):
        rows = await conn.fetch(SELECT_FIRED_DATABASES.format(schema=schema), config_id)
    return [row["database"] for row in rows]


async def restore_target(conn: Conn, schema: str, restore_id: UUID) -> RestoreTarget | None:
    """The server (by name, while it is registered) and database of a restore request."""
    row = await conn.fetchrow(SELECT_RESTORE_TARGET.format(schema=schema), restore_id)
    if row is None:
        return None
    return RestoreTarget(server_name=row["server_name"], database=row["database"])
