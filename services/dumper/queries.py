"""Answers to the dumper's request/reply queries: `list_databases`, `test_connection`."""

from typing import Any

from services.dumper.dumping import Dumper
from services.dumper.errors import DumpError
from shared.logging import get_logger

log = get_logger(__name__)

OPS = ("list_databases", "test_connection")


async def answer_query(dumper: Dumper, body: Any) -> dict[str, Any]:
    """`{"op": "list_databases", "connection": sealed}` -> `{"ok": true, "databases": [...]}`;
    `{"op": "test_connection", "connection": sealed, "database": optional}` ->
    `{"ok": true, "checks": [{"check", "ok", "detail"}, ...]}`."""
    op = body.get("op") if isinstance(body, dict) else None
    if op not in OPS:
        return {"ok": False, "error": f"unknown query {op!r}; the dumper answers {', '.join(OPS)}"}
    sealed = body.get("connection")
    if not isinstance(sealed, str):
        return {"ok": False, "error": f"{op} needs a sealed connection"}
    database = body.get("database")
    if database is not None and not isinstance(database, str):
        return {"ok": False, "error": "database must be a string"}
    try:
        spec = dumper.unseal(sealed)
        if op == "test_connection":
            checks = await dumper.test_connection(spec, database or None)
            log.info("connection_tested", failed=[c.check for c in checks if not c.ok])
            return {"ok": True, "checks": [check.public() for check in checks]}
        databases = await dumper.databases(spec)
    except DumpError as exc:
        log.info("query_not_answered", op=op, reason=exc.reason)
        return {"ok": False, "error": exc.reason}
    log.info("databases_listed", count=len(databases))
    return {"ok": True, "databases": databases}
