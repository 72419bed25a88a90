"""Whether a server is ready for continuous archiving (issue #18), prerequisite by prerequisite.

Advisory: a server that is not ready still passes its ordinary connection test. Each unmet
prerequisite says what to change on the server. Pure; services.dumper.adapters.readiness
gathers the facts.
"""

from services.dumper.readiness._base import READY, Prerequisite, Readiness, not_checked
from services.dumper.readiness.mysql import MysqlFacts, mysql_readiness
from services.dumper.readiness.postgres import (
    PostgresFacts,
    ReplicationAttempt,
    hba_line,
    postgres_readiness,
)

__all__ = [
    "READY",
    "MysqlFacts",
    "PostgresFacts",
    "Prerequisite",
    "Readiness",
    "ReplicationAttempt",
    "hba_line",
    "mysql_readiness",
    "not_checked",
    "postgres_readiness",
]
