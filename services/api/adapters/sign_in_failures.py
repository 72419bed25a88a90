"""The ui_sign_in_failures table: recent wrong passwords per subject (address or user)."""

from collections.abc import Callable, Sequence

from asyncpg import Pool

# The database's clock, not the replica's: every replica sees the same refusals.
SECONDS_REFUSED = """
SELECT coalesce(extract(epoch FROM max(refused_until) - now()), 0)::float8
FROM {schema}.ui_sign_in_failures
WHERE subject = ANY($1::text[]) AND refused_until > now()
"""
PURGE_OLD = """
DELETE FROM {schema}.ui_sign_in_failures
WHERE last_failed_at < now() - make_interval(secs => $1)
"""
# A failure after a quiet window starts the count again.
COUNT_FAILURE = """
INSERT INTO {schema}.ui_sign_in_failures AS f (subject, failures, last_failed_at)
VALUES ($1, 1, now())
ON CONFLICT (subject) DO UPDATE SET
    failures = CASE WHEN f.last_failed_at < now() - make_interval(secs => $2) THEN 1
                    ELSE f.failures + 1 END,
    last_failed_at = now()
RETURNING failures
"""
REFUSE_UNTIL = """
UPDATE {schema}.ui_sign_in_failures SET refused_until = now() + make_interval(secs => $2)
WHERE subject = $1
"""
FORGET = "DELETE FROM {schema}.ui_sign_in_failures WHERE subject = ANY($1::text[])"


class SignInFailures:
    """Counts wrong passwords and the refusals they earn, in the api's schema."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    def _sql(self, template: str) -> str:
        return template.format(schema=self._schema)

    async def seconds_refused(self, subjects: Sequence[str]) -> float:
        """How long any of `subjects` is still refused; 0 when none is."""
        seconds: float = await self._pool.fetchval(self._sql(SECONDS_REFUSED), list(subjects))
        return seconds

    async def count_failure(
        self,
        subjects: Sequence[str],
        *,
        window_seconds: float,
        refusal: Callable[[int], float | None],
    ) -> None:
        """One more failure for each subject; `refusal(failures)` says how long to refuse."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(self._sql(PURGE_OLD), window_seconds)
            for subject in subjects:
                failures = await conn.fetchval(self._sql(COUNT_FAILURE), subject, window_seconds)
                seconds = refusal(failures)
                if seconds is not None:
                    await conn.execute(self._sql(REFUSE_UNTIL), subject, seconds)

    async def forget(self, subjects: Sequence[str]) -> None:
        """A right password clears the subjects' failures."""
        await self._pool.execute(self._sql(FORGET), list(subjects))
