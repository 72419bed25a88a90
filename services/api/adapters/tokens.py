"""The tokens table: hashed bearer tokens, looked up on every request."""

from uuid import UUID

from asyncpg import Pool

from services.api.models import ApiToken

COLUMNS = "id, name, created_at, last_used_at, revoked_at"
INSERT = (
    "INSERT INTO {schema}.tokens (id, name, token_hash) VALUES ($1, $2, $3) RETURNING " + COLUMNS
)
SELECT_ALL = "SELECT " + COLUMNS + " FROM {schema}.tokens ORDER BY created_at, id"
REVOKE = (
    "UPDATE {schema}.tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id"
)
# One round trip checks the token and records its use; the write happens at most once per
# TOUCH_SECONDS per token, so a busy client does not turn every request into a row update.
AUTHENTICATE = """
WITH found AS (
    SELECT id, last_used_at FROM {schema}.tokens WHERE token_hash = $1 AND revoked_at IS NULL
), touched AS (
    UPDATE {schema}.tokens t SET last_used_at = now()
    FROM found
    WHERE t.id = found.id
      AND (found.last_used_at IS NULL OR found.last_used_at < now() - make_interval(secs => $2))
    RETURNING t.id
)
SELECT id FROM found
"""
TOUCH_SECONDS = 30.0


class TokenRepository:
    """Bearer tokens by hash."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def add(self, token_id: UUID, name: str, token_hash: str) -> ApiToken:
        row = await self._pool.fetchrow(
            INSERT.format(schema=self._schema), token_id, name, token_hash
        )
        return ApiToken.model_validate(dict(row))  # type: ignore[arg-type]

    async def list(self) -> list[ApiToken]:
        rows = await self._pool.fetch(SELECT_ALL.format(schema=self._schema))
        return [ApiToken.model_validate(dict(row)) for row in rows]

    async def revoke(self, token_id: UUID) -> bool:
        """Revoke the token; False when there is no such token. Revoking twice is fine."""
        found = await self._pool.fetchval(REVOKE.format(schema=self._schema), token_id)
        return found is not None

    async def authenticate(self, token_hash: str) -> UUID | None:
        """The id of the live token with this hash, recording its use; None otherwise."""
        found: UUID | None = await self._pool.fetchval(
            AUTHENTICATE.format(schema=self._schema), token_hash, TOUCH_SECONDS
        )
        return found
