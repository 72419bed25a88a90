"""What the connection test answers: the ordinary checks, and the archiving verdict beside them."""

from dataclasses import dataclass

from services.dumper.checks import Check
from services.dumper.readiness import Readiness


@dataclass(frozen=True)
class ConnectionReport:
    """`checks` decide whether backups can run; `archiving` is advice and decides nothing."""

    checks: list[Check]
    archiving: Readiness
