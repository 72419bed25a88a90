"""The answer to the retention request asked over the broker (shared/queries/catalog.py).

Every completed snapshot a configuration fired (or of one server's database), newest first;
the api decides what retention prunes from it (services/api/retention.py).
"""

from services.catalog.snapshots.adapters import db
from shared.database import Conn
from shared.queries import RetentionCandidates, RetentionCandidatesReply

CANDIDATES_LIMIT = 10_000
"""A bound on one answer; a configuration keeping more completed snapshots is pruned in passes."""


async def answer_retention_query(
    conn: Conn, schema: str, query: RetentionCandidates
) -> RetentionCandidatesReply:
    if query.config_id is not None:
        records = await db.completed_of_config(
            conn, schema, query.config_id, limit=CANDIDATES_LIMIT
        )
    elif query.server_id is not None and query.database is not None:
        records = await db.completed_of_source(
            conn, schema, query.server_id, query.database, limit=CANDIDATES_LIMIT
        )
    else:  # a request with neither scope is refused by its validator
        records = []
    return RetentionCandidatesReply(snapshots=[record.public() for record in records])
