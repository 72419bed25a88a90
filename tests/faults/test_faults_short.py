"""The short fault suite: a stream of backups survives SIGKILLed replicas, a
RabbitMQ restart, a PostgreSQL restart, a full staging disk and an S3 outage.

Nothing accepted is lost, nothing stays stuck, nothing is left on the volumes or in staging,
every failure says why, every completed snapshot restores to its source, and no secret shows
in a log or an argv. `make faults` runs the same with 200 backups.
"""

import pytest

from tests.faults.run import SHORT, format_report, run_faults
from tests.support.private_postgres import postgres_available
from tests.support.private_rabbit import rabbit_available

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    pytest.mark.skipif(not rabbit_available(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not postgres_available(), reason="PostgreSQL 15's initdb is missing"),
]


class TestShortFaultSuite:
    @pytest.mark.timeout(420)
    async def test_faults_lose_nothing_leave_nothing_and_complete_only_correct_backups(
        self, postgres_url
    ):
        """`postgres_url` only makes sure the shared server answers (the sources live there)."""
        del postgres_url
        report = await run_faults(SHORT)
        print(format_report(report))
        figures = report.figures

        assert figures.values["accepted (202)"] >= SHORT.backups // 2, "too few were accepted"
        assert figures.values["completed"] > 0, "nothing completed: the check would prove nothing"
        assert len(report.faults) >= 8, "the run ended before every fault was injected"
        assert (
            figures.values["completed snapshots restored and compared"]
            == (figures.values["completed"])
        )
        assert figures.nonzero() == {}, format_report(report)
