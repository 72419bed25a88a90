"""The answer to the retention request asked over the broker (shared/queries/catalog.py).

`retention_candidates {config_id}` or `{server_id, database}` -> `{"ok", "snapshots": [...]}`:
every completed snapshot a configuration fired (or of one server's database), newest first,
as public snapshot JSON (with `created_at`, `locked` and `config_id`). The api decides what
retention prunes from it (services/api/retention.py).
"""

import json
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator

from services.catalog.adapters import db
from services.catalog.status import SnapshotRecord
from shared.database import Conn

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


class RetentionCandidates(BaseModel):
    model_config = ConfigDict(extra="ignore")

    op: Literal["retention_candidates"]
    config_id: UUID | None = None
    server_id: UUID | None = None
    database: str | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> "RetentionCandidates":
        by_source = self.server_id is not None and self.database is not None
        if (self.config_id is None) == (not by_source):
            raise ValueError("give config_id, or server_id and database")
        return self


async def answer_retention_query(
    conn: Conn, schema: str, query: RetentionCandidates
) -> dict[str, Any]:
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
    return {"ok": True, "snapshots": [_public(row) for row in rows]}


def _public(row: Any) -> dict[str, Any]:
    values = dict(row)
    for column in ("manifest", "verify_result"):
        if isinstance(values.get(column), str):
            values[column] = json.loads(values[column])
    return SnapshotRecord.model_validate(values).public()
