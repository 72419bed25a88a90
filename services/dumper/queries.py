"""Answers to the dumper's request/reply queries (interfaces: `list_databases`)."""

from typing import Any

from services.dumper.dumping import Dumper
from services.dumper.errors import DumpError
from shared.logging import get_logger

log = get_logger(__name__)


async def answer_query(dumper: Dumper, body: Any) -> dict[str, Any]:
    """`{"op": "list_databases", "connection": sealed}` -> `{"ok": true, "databases": [...]}`."""
    op = body.get("op") if isinstance(body, dict) else None
    if op != "list_databases":
        return {"ok": False, "error": f"unknown query {op!r}; the dumper answers list_databases"}
    sealed = body.get("connection")
    if not isinstance(sealed, str):
        return {"ok": False, "error": "list_databases needs a sealed connection"}
    try:
        databases = await dumper.databases(dumper.unseal(sealed))
    except DumpError as exc:
        log.info("databases_not_listed", reason=exc.reason)
        return {"ok": False, "error": exc.reason}
    log.info("databases_listed", count=len(databases))
    return {"ok": True, "databases": databases}
