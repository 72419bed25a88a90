"""The retention query asked over the broker (issue 8).

`retention_candidates {config_id}` or `{server_id, database}` -> `{"ok", "snapshots": [...]}`:
every completed snapshot a configuration fired (or of one server's database), newest first,
as public snapshot JSON (with `created_at`, `locked` and `config_id`). The api decides what
retention prunes from it (services/api/retention.py).
"""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator

from services.catalog.snapshots.adapters import db
from shared.database import Conn

CANDIDATES_LIMIT = 10_000
"""A bound on one answer; a configuration keeping more completed snapshots is pruned in passes."""


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
        records = await db.completed_of_config(
            conn, schema, query.config_id, limit=CANDIDATES_LIMIT
        )
    elif query.server_id is not None and query.database is not None:
        records = await db.completed_of_source(
            conn, schema, query.server_id, query.database, limit=CANDIDATES_LIMIT
        )
    else:  # a request with neither scope is refused by its validator
        records = []
    return {"ok": True, "snapshots": [record.public() for record in records]}
