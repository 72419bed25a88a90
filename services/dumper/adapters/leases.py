"""Job leases in the dumper's own table `job_leases` (SQL in module constants).

See services/dumper/leases.py for what a lease means; this is only its storage.
"""

from collections.abc import Callable
from uuid import UUID

from asyncpg import Pool

from services.dumper.leases import Claimed, ClaimOutcome
from shared.adapters.idempotency import mark_handled

# A new job, or one whose holder stopped beating (it died): this claim takes it over.
CLAIM = """
INSERT INTO {schema}.job_leases (job_id, holder) VALUES ($1, $2)
ON CONFLICT (job_id) DO UPDATE
SET holder = EXCLUDED.holder, attempts = job_leases.attempts + 1,
    claimed_at = now(), heartbeat_at = now()
WHERE job_leases.finished_at IS NULL
  AND job_leases.heartbeat_at < now() - make_interval(secs => $3)
RETURNING attempts
"""
FINISHED = "SELECT finished_at IS NOT NULL FROM {schema}.job_leases WHERE job_id = $1"
RENEW = """
UPDATE {schema}.job_leases SET heartbeat_at = now()
WHERE job_id = $1 AND holder = $2 AND finished_at IS NULL
"""
# Stopped unfinished (an error, the service stopping): the next delivery need not wait.
RELEASE = """
UPDATE {schema}.job_leases SET heartbeat_at = '-infinity'
WHERE job_id = $1 AND holder = $2 AND finished_at IS NULL
"""
FINISH = """
UPDATE {schema}.job_leases SET finished_at = now(), heartbeat_at = now()
WHERE job_id = $1 AND holder = $2
"""


class PostgresLeases:
    """The lease store of one dumper schema; every replica shares it."""

    def __init__(self, pool: Callable[[], Pool], schema: str) -> None:
        """`pool` gives the process's pool, which opens only once the service starts."""
        self._pool = pool
        self._schema = schema

    def _sql(self, statement: str) -> str:
        return statement.format(schema=self._schema)

    async def claim(self, job_id: UUID, holder: UUID, *, stale_after: float) -> ClaimOutcome:
        async with self._pool().acquire() as conn:
            attempt = await conn.fetchval(self._sql(CLAIM), job_id, holder, stale_after)
            if attempt is not None:
                return Claimed(attempt=attempt)
            finished = await conn.fetchval(self._sql(FINISHED), job_id)
        return "finished" if finished else "running"

    async def renew(self, job_id: UUID, holder: UUID) -> bool:
        async with self._pool().acquire() as conn:
            status: str = await conn.execute(self._sql(RENEW), job_id, holder)
        return status != "UPDATE 0"

    async def release(self, job_id: UUID, holder: UUID) -> None:
        async with self._pool().acquire() as conn:
            await conn.execute(self._sql(RELEASE), job_id, holder)

    async def finish(self, job_id: UUID, holder: UUID, *, event_id: UUID) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            await conn.execute(self._sql(FINISH), job_id, holder)
            await mark_handled(conn, schema=self._schema, event_id=event_id)
