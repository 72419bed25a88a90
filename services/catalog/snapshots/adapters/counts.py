"""Counts over the snapshots table: what a volume holds, what runs on a server, which
master key wraps how many snapshots (SQL in constants)."""

from uuid import UUID

from shared.database import Conn

# Every stored copy on the volume counts, whichever copy a snapshot shows; a record
# from before copies (`copies` empty) counts by its volume_id.
_ON_VOLUME = "jsonb_build_array(jsonb_build_object('volume_id', $1::uuid::text{status}))"
VOLUME_USAGE = (
    """
SELECT COALESCE(sum(bytes), 0)::bigint AS bytes, count(*) AS snapshots FROM (
    SELECT (c->>'size')::bigint AS bytes
    FROM {schema}.snapshots, jsonb_array_elements(copies) AS c
    WHERE copies @> """
    + _ON_VOLUME.replace("{status}", ", 'status', 'stored'")
    + """
      AND c->>'volume_id' = $1::uuid::text AND c->>'status' = 'stored'
    UNION ALL
    SELECT size FROM {schema}.snapshots
    WHERE volume_id = $1::uuid AND status = 'completed' AND copies = '[]'::jsonb
) AS stored
"""
)
SERVER_ACTIVITY = """
SELECT count(*) FILTER (WHERE status IN ('pending', 'in_progress')) AS in_progress,
       count(*) FILTER (WHERE status <> 'deleted') AS snapshots
FROM {schema}.snapshots WHERE server_id = $1
"""
VOLUME_ACTIVITY = (
    """
SELECT count(*) AS snapshots FROM {schema}.snapshots
WHERE status <> 'deleted' AND (
    (volume_id = $1::uuid AND copies = '[]'::jsonb)
    OR (copies @> """
    + _ON_VOLUME.replace("{status}", "")
    + """ AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(copies) AS c
        WHERE c->>'volume_id' = $1::uuid::text AND c->>'status' <> 'deleted'))
)
"""
)
COUNT_BY_KEY = """
SELECT manifest->'encryption'->>'key_id' AS key_id, count(*) AS snapshots
FROM {schema}.snapshots
WHERE status = 'completed' AND manifest ? 'encryption'
GROUP BY 1 ORDER BY 1
"""


async def volume_usage(conn: Conn, schema: str, volume_id: UUID) -> tuple[int, int]:
    """(bytes, count) of the completed snapshots on a volume."""
    row = await conn.fetchrow(VOLUME_USAGE.format(schema=schema), volume_id)
    return int(row["bytes"]), int(row["snapshots"])  # type: ignore[index]


async def server_activity(conn: Conn, schema: str, server_id: UUID) -> tuple[int, int]:
    """(pending or in progress, not deleted) snapshots of a server."""
    row = await conn.fetchrow(SERVER_ACTIVITY.format(schema=schema), server_id)
    return int(row["in_progress"]), int(row["snapshots"])  # type: ignore[index]


async def volume_activity(conn: Conn, schema: str, volume_id: UUID) -> int:
    """Snapshots on a volume that are not deleted."""
    count = await conn.fetchval(VOLUME_ACTIVITY.format(schema=schema), volume_id)
    return int(count)


async def snapshots_by_key(conn: Conn, schema: str) -> dict[str, int]:
    """Completed encrypted snapshots counted by the master key that wraps their data key."""
    rows = await conn.fetch(COUNT_BY_KEY.format(schema=schema))
    return {str(row["key_id"]): int(row["snapshots"]) for row in rows}
