"""Answers to the dumper's requests (shared/queries/dumper.py): list databases, test a server."""

from typing import Any

from pydantic import ValidationError

from services.dumper.dumping import Dumper
from services.dumper.errors import DumpError
from shared.logging import get_logger
from shared.queries import (
    Archiving,
    Check,
    ConnectionChecksReply,
    DatabasesReply,
    DumperQueries,
    ListDatabases,
    QueryRefused,
    TestConnection,
    refused_for,
)

log = get_logger(__name__)


async def answer_query(
    dumper: Dumper, body: Any
) -> DatabasesReply | ConnectionChecksReply | QueryRefused:
    """The reply to one request; one that cannot be understood or answered is refused."""
    try:
        query = DumperQueries.validate_python(body)
    except ValidationError as exc:
        return refused_for(exc)
    try:
        spec = dumper.unseal(query.connection)
        match query:
            case TestConnection():
                report = await dumper.test_connection(spec, query.database or None)
                log.info(
                    "connection_tested",
                    failed=[c.check for c in report.checks if not c.ok],
                    archiving_ready=report.archiving.ready,
                )
                return ConnectionChecksReply(
                    checks=[Check.model_validate(c.public()) for c in report.checks],
                    archiving=Archiving.model_validate(report.archiving.public()),
                )
            case ListDatabases():
                databases = await dumper.databases(spec)
    except DumpError as exc:
        log.info("query_not_answered", op=query.op, reason=exc.reason)
        return QueryRefused(error=exc.reason)
    log.info("databases_listed", count=len(databases))
    return DatabasesReply(databases=databases)
