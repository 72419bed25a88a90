"""The answer to the retention request asked over the broker (shared/queries/catalog.py).

Every completed snapshot a configuration fired (or of one server's database), newest first;
the api decides what retention prunes from it (services/api/retention.py).
"""

import json
from typing import Any

from services.catalog.adapters import db
from services.catalog.status import SnapshotRecord
from shared.database import Conn
from shared.queries import RetentionCandidates, RetentionCandidatesReply

CANDIDATES_LIMIT = 10_000
"""A bound on one answer; a configuration keeping more completed snapshots is pruned in passes."""
SELECT_BY_CONFIG = (
    "SELECT " + db.COLUMNS + " FROM {schema}.snapshots "
    "WHERE config_id = $1 AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT $2"
)
SELECT_BY_SOURCE = (
    "SELECT " + db.COLUMNS + " FROM {schema}.snapshots "
    "WHERE server_id = $1 AND database = $2 AND status = 'completed' "
    "ORDER BY created_at DESC, id DESC LIMIT $3"
)


async def answer_retention_query(
    conn: Conn, schema: str, query: RetentionCandidates
) -> RetentionCandidatesReply:
    if query.config_id is not None:
        rows = await conn.fetch(
            SELECT_BY_CONFIG.format(schema=schema), query.config_id, CANDIDATES_LIMIT
        )
    else:
        rows = await conn.fetch(
            SELECT_BY_SOURCE.format(schema=schema),
            query.server_id,
            query.database,
            CANDIDATES_LIMIT,
        )
    return RetentionCandidatesReply(snapshots=[_public(row) for row in rows])


def _public(row: Any) -> dict[str, Any]:
    values = dict(row)
    for column in ("manifest", "verify_result"):
        if isinstance(values.get(column), str):
            values[column] = json.loads(values[column])
    return SnapshotRecord.model_validate(values).public()
