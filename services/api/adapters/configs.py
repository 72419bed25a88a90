"""The api's backup configurations and their scheduled firings (SQL in constants).

A scheduled firing is claimed before it is planned: the firing's key row (config_id,
scheduled_for) is inserted first, marked unfinished. Its primary key is the duplicate check
across api replicas: a second replica's insert does nothing. Then ONE transaction writes the
request and outbox rows and settles the key row with the outcome. A replica that dies while
planning leaves the slot claimed and failed, so a slot that kills its planner never fires again.
"""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg import Pool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.api.configs.model import BackupConfig, BackupSettings
from services.api.errors import ConflictError
from shared.database import Conn
from shared.logging import get_logger

log = get_logger(__name__)

CONFIG_COLUMNS = (
    "id, name, server_id, databases, volume_ids, compression, compression_level, encrypt, "
    "schedule, timezone, retention, rpo_hours, notify, post_backup_hook, "
    "post_restore_hook, enabled, created_at, updated_at, last_fired_at, last_error"
)
_SETTINGS = (
    "name, server_id, databases, volume_ids, compression, compression_level, encrypt, "
    "schedule, timezone, retention, rpo_hours, notify, post_backup_hook, "
    "post_restore_hook, enabled"
)
INSERT_CONFIG = (
    "INSERT INTO {schema}.backup_configs (id, " + _SETTINGS + ", created_at, updated_at, armed_at) "
    "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13::jsonb, $14, "
    "$15, $16, $17, $17, $17) RETURNING " + CONFIG_COLUMNS
)
# armed_at moves on when what decides the slots changes (schedule, zone, enabled): a slot
# from before the change never fires late.
UPDATE_CONFIG = (
    "UPDATE {schema}.backup_configs SET name = $2, server_id = $3, databases = $4::jsonb, "
    "volume_ids = $5, compression = $6, compression_level = $7, encrypt = $8, schedule = $9, "
    "timezone = $10, retention = $11::jsonb, rpo_hours = $12, notify = $13::jsonb, "
    "post_backup_hook = $14, post_restore_hook = $15, enabled = $16, updated_at = $17, "
    "armed_at = CASE WHEN (schedule, timezone, enabled) IS DISTINCT FROM ($9, $10, $16) "
    "THEN $17 ELSE armed_at END "
    "WHERE id = $1 RETURNING " + CONFIG_COLUMNS
)
SELECT_CONFIG = "SELECT " + CONFIG_COLUMNS + " FROM {schema}.backup_configs WHERE id = $1"
SELECT_CONFIGS = (
    "SELECT " + CONFIG_COLUMNS + " FROM {schema}.backup_configs "
    "WHERE ($1::uuid IS NULL OR server_id = $1) ORDER BY name"
)
DELETE_CONFIG = "DELETE FROM {schema}.backup_configs WHERE id = $1 RETURNING id"
SELECT_SCHEDULED = (
    "SELECT " + CONFIG_COLUMNS + ", greatest(c.armed_at, f.latest) AS fired_through "
    "FROM {schema}.backup_configs c LEFT JOIN LATERAL ("
    "  SELECT max(scheduled_for) AS latest FROM {schema}.backup_config_firings "
    "  WHERE config_id = c.id) f ON true "
    "WHERE c.enabled AND c.schedule IS NOT NULL ORDER BY c.name"
)
SELECT_FIRED = (
    "SELECT EXISTS (SELECT 1 FROM {schema}.backup_config_firings "
    "WHERE config_id = $1 AND scheduled_for >= $2)"
)
LOCK_ENABLED = (
    "SELECT enabled AND schedule IS NOT NULL FROM {schema}.backup_configs WHERE id = $1 FOR UPDATE"
)
# Never a slot older than one already fired: a replica whose clock or pass lags behind must
# not fire the previous slot after another replica fired the current one.
INSERT_FIRING = (
    "INSERT INTO {schema}.backup_config_firings (config_id, scheduled_for, fired_at, snapshots, "
    "error) SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM "
    "{schema}.backup_config_firings WHERE config_id = $1 AND scheduled_for > $2) "
    "ON CONFLICT (config_id, scheduled_for) DO NOTHING RETURNING config_id"
)
LOCK_CONFIG = "SELECT 1 FROM {schema}.backup_configs WHERE id = $1 FOR UPDATE"
SETTLE_FIRING = (
    "UPDATE {schema}.backup_config_firings SET snapshots = $3, error = $4 "
    "WHERE config_id = $1 AND scheduled_for = $2 RETURNING config_id"
)
RELEASE_FIRING = (
    "DELETE FROM {schema}.backup_config_firings WHERE config_id = $1 AND scheduled_for = $2"
)
MARK_FIRED = "UPDATE {schema}.backup_configs SET last_fired_at = $2, last_error = $3 WHERE id = $1"

SELECT_FIRINGS = (
    "SELECT scheduled_for, fired_at, snapshots, error FROM {schema}.backup_config_firings "
    "WHERE config_id = $1 ORDER BY scheduled_for DESC LIMIT $2"
)

WriteRows = Callable[[Conn], Awaitable[None]]

UNFINISHED = "its planning did not finish (the api replica stopped or crashed meanwhile)"
"""The outcome a claimed firing shows until it is settled: left so when its planner died."""


class Firing(BaseModel):
    """One scheduled firing of a configuration: its slot, and what came of it."""

    model_config = ConfigDict(frozen=True)

    scheduled_for: datetime = Field(description="The slot of the schedule it fired for.")
    fired_at: datetime = Field(description="When a replica fired it.")
    snapshots: int = Field(description="Snapshots requested; 0 for a failed firing.")
    error: str | None = Field(description="Why it requested none, for a failed firing.")


class BackupConfigRepository:
    """Backup configurations, and the record of their scheduled firings."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(
        self, config_id: UUID, settings: BackupSettings, *, now: datetime
    ) -> BackupConfig:
        """Store a new configuration; a name already taken is a ConflictError."""
        row = await self._write(INSERT_CONFIG, config_id, settings, now)
        if row is None:
            raise RuntimeError("INSERT ... RETURNING gave no row")
        return row

    async def update(
        self, config_id: UUID, settings: BackupSettings, *, now: datetime
    ) -> BackupConfig | None:
        """Replace the settings of a configuration; None when it is gone."""
        return await self._write(UPDATE_CONFIG, config_id, settings, now)

    async def _write(
        self, sql: str, config_id: UUID, settings: BackupSettings, now: datetime
    ) -> BackupConfig | None:
        try:
            row = await self._pool.fetchrow(
                sql.format(schema=self._schema), config_id, *_arguments(settings), now
            )
        except asyncpg.UniqueViolationError:
            raise ConflictError(
                f"a backup configuration named {settings.name!r} already exists"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise ConflictError(f"server {settings.server_id} does not exist") from None
        return None if row is None else _config(row)

    async def get(self, config_id: UUID) -> BackupConfig | None:
        row = await self._pool.fetchrow(SELECT_CONFIG.format(schema=self._schema), config_id)
        return None if row is None else _config(row)

    async def scheduled(self) -> list[tuple[BackupConfig, datetime]]:
        """Each enabled configuration with a schedule, and the time its slots have been
        fired through (the newest fired slot, or when it was armed)."""
        rows = await self._pool.fetch(SELECT_SCHEDULED.format(schema=self._schema))
        found = []
        for row in rows:
            try:
                found.append((_config(row), row["fired_through"]))
            except ValidationError:
                # One unreadable row (an old or hand-edited one) must not stop the others.
                log.exception("backup_config_unreadable", config_id=str(row["id"]))
        return found

    async def fired(self, config_id: UUID, slot: datetime) -> bool:
        """Whether `slot` (or a later one) has fired: a cheap look before planning."""
        found: bool = await self._pool.fetchval(
            SELECT_FIRED.format(schema=self._schema), config_id, slot
        )
        return found

    async def claim(self, config_id: UUID, slot: datetime, *, now: datetime) -> bool:
        """Claim `slot` before planning it, marked unfinished (in its own transaction).

        False when another replica claimed this slot (or a later one) first, or the
        configuration is disabled or deleted.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            # The row lock orders concurrent firings of one configuration.
            armed = await conn.fetchval(LOCK_ENABLED.format(schema=self._schema), config_id)
            if not armed:
                return False
            won = await conn.fetchval(
                INSERT_FIRING.format(schema=self._schema), config_id, slot, now, 0, UNFINISHED
            )
        return won is not None

    async def release(self, config_id: UUID, slot: datetime) -> None:
        """Give a claimed slot back, unplanned: the next pass fires it (nobody answered)."""
        await self._pool.execute(RELEASE_FIRING.format(schema=self._schema), config_id, slot)

    async def settle(
        self,
        config_id: UUID,
        slot: datetime,
        *,
        now: datetime,
        snapshots: int,
        error: str | None,
        write: WriteRows,
    ) -> bool:
        """Record the outcome of a claimed slot and write its rows, in ONE transaction.

        False, having written nothing, when the configuration (and with it the claim) was
        deleted meanwhile.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            # The configuration's row first, as `claim` takes it: two replicas, one settling a
            # slot while the other claims the next, otherwise each waited for the other's
            # rows (a deadlock PostgreSQL broke by failing the settle, losing its requests).
            await conn.execute(LOCK_CONFIG.format(schema=self._schema), config_id)
            settled = await conn.fetchval(
                SETTLE_FIRING.format(schema=self._schema), config_id, slot, snapshots, error
            )
            if settled is None:
                return False
            await write(conn)
            await conn.execute(MARK_FIRED.format(schema=self._schema), config_id, now, error)
        return True

    async def names_using_volume(self, volume_id: UUID) -> list[str]:
        """The configurations that write to a volume, by name (configurations are few)."""
        rows = await self._pool.fetch(SELECT_CONFIGS.format(schema=self._schema), None)
        return [c.name for c in map(_config, rows) if volume_id in c.volume_ids]

    async def firings(self, config_id: UUID, *, limit: int) -> list[Firing]:
        """The newest `limit` scheduled firings of a configuration, newest first."""
        rows = await self._pool.fetch(SELECT_FIRINGS.format(schema=self._schema), config_id, limit)
        return [Firing.model_validate(dict(row)) for row in rows]

    # Last in the class: as a method name, `list` hides the builtin for what follows it.
    async def list(self, *, server_id: UUID | None = None) -> list[BackupConfig]:
        """Every configuration by name, or those of one server."""
        rows = await self._pool.fetch(SELECT_CONFIGS.format(schema=self._schema), server_id)
        return [_config(row) for row in rows]

    async def delete(self, config_id: UUID) -> bool:
        """Remove the configuration and its firings; False when there was none."""
        found = await self._pool.fetchval(DELETE_CONFIG.format(schema=self._schema), config_id)
        return found is not None


def _arguments(settings: BackupSettings) -> list[Any]:
    return [
        settings.name,
        settings.server_id,
        settings.databases.model_dump_json(),
        list(settings.volume_ids),
        settings.compression,
        settings.compression_level,
        settings.encrypt,
        settings.schedule,
        settings.timezone,
        settings.retention.model_dump_json(),
        settings.rpo_hours,
        settings.notify.model_dump_json(),
        settings.post_backup_hook,
        settings.post_restore_hook,
        settings.enabled,
    ]


def _config(row: Any) -> BackupConfig:
    data = {key: row[key] for key in BackupConfig.model_fields if key in row}
    for key in ("databases", "retention", "notify"):
        data[key] = json.loads(data[key])
    return BackupConfig.model_validate(data, context={"stored": True})
