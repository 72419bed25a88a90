"""The web UI's tables: the admin accounts and the sessions (SQL in constants)."""

from datetime import datetime
from uuid import UUID

from asyncpg import Pool
from pydantic import BaseModel, ConfigDict

UPSERT_USER = """
INSERT INTO {schema}.ui_users (name, password_hash) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, updated_at = now()
"""
# A new password ends every session the old one opened.
END_USER_SESSIONS = "DELETE FROM {schema}.ui_sessions WHERE user_name = $1"
SELECT_HASH = "SELECT password_hash FROM {schema}.ui_users WHERE name = $1"
INSERT_SESSION = """
INSERT INTO {schema}.ui_sessions (id_hash, user_name, token_id, csrf_token, expires_at)
VALUES ($1, $2, $3, $4, $5)
"""
SELECT_SESSION = """
SELECT s.user_name, s.csrf_token, s.expires_at, t.name AS token_name
FROM {schema}.ui_sessions s LEFT JOIN {schema}.tokens t ON t.id = s.token_id
WHERE s.id_hash = $1 AND s.expires_at > now()
  AND (s.token_id IS NULL OR (t.id IS NOT NULL AND t.revoked_at IS NULL))
"""
DELETE_SESSION = "DELETE FROM {schema}.ui_sessions WHERE id_hash = $1"
PURGE_EXPIRED = "DELETE FROM {schema}.ui_sessions WHERE expires_at <= now()"


class UiSession(BaseModel):
    """A signed-in browser: who it is, and the CSRF token its forms must carry."""

    model_config = ConfigDict(frozen=True)

    id_hash: str
    who: str
    csrf_token: str
    expires_at: datetime


class UiStore:
    """Admin password hashes and sessions, in the api's schema."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    def _sql(self, template: str) -> str:
        return template.format(schema=self._schema)

    async def set_password(self, name: str, password_hash: str) -> None:
        """Create the user or replace its password, ending the sessions it had."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql(UPSERT_USER), name, password_hash)
            await conn.execute(self._sql(END_USER_SESSIONS), name)

    async def password_hash(self, name: str) -> str | None:
        found: str | None = await self._pool.fetchval(self._sql(SELECT_HASH), name)
        return found

    async def open_session(
        self,
        id_hash: str,
        *,
        csrf_token: str,
        expires_at: datetime,
        user_name: str | None = None,
        token_id: UUID | None = None,
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql(PURGE_EXPIRED))
            await conn.execute(
                self._sql(INSERT_SESSION), id_hash, user_name, token_id, csrf_token, expires_at
            )

    async def session(self, id_hash: str) -> UiSession | None:
        """The live session with this hash: not expired, its token (if any) not revoked."""
        row = await self._pool.fetchrow(self._sql(SELECT_SESSION), id_hash)
        if row is None:
            return None
        who = row["user_name"] or f"token {row['token_name']}"
        return UiSession(
            id_hash=id_hash, who=who, csrf_token=row["csrf_token"], expires_at=row["expires_at"]
        )

    async def close_session(self, id_hash: str) -> None:
        await self._pool.execute(self._sql(DELETE_SESSION), id_hash)
